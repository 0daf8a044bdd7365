/* nn_convert: a model from one format to another, by the file names.
 *   nn_convert [--softmax] IN OUT
 * IN is a libnn model file (.nnm) or an ONNX model (.onnx). OUT is written
 * as ONNX (.onnx, with a final Softmax when --softmax is given), a libnn
 * model file (.nnm), a MATLAB file of the weights (.mat), NumPy .npy files
 * of the weights in a directory (OUT ending in '/'), or C: NAME.c and
 * NAME.h, the model as one function with no libnn (convert_c.h). */
#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "cli_file.h"
#include "cli_model.h"
#include "convert_c.h"
#include "convert_int8.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: nn_convert [--softmax] IN OUT\n"
               "  IN   model.nnm or model.onnx\n"
               "  OUT  model.onnx, model.nnm, weights.mat, DIR/ for one .npy\n"
               "       file per tensor (layer<i>_weight.npy, ...), or NAME.c for\n"
               "       the model compiled to C (NAME.c and NAME.h: NAME_predict,\n"
               "       no libnn, no allocation; prints the bytes it needs)\n"
               "  --softmax  end an ONNX graph with a Softmax (probabilities)\n");
}

/* The model as C, and what it needs: constant data, working memory. */
static nn_status write_c(nn_net *net, const char *in, const char *out,
                         char *msg, size_t msg_size)
{
    convert_c_sizes sizes;
    nn_status st = convert_c_write(net, out, in, &sizes, msg, msg_size);
    if (st == NN_OK)
        printf("%s: constant data %zu bytes, working memory %zu bytes "
               "(input %zu bytes, output %zu bytes: the caller's)\n",
               out, sizes.const_bytes, sizes.work_bytes,
               sizes.in_floats * sizeof(float), sizes.classes * sizeof(float));
    return st;
}

int main(int argc, char **argv)
{
    char msg[512];
    const char *in, *out;
    unsigned flags = 0;
    nn_net *net = NULL;
    nn_status st;
    int first = 1;
    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        cli_print_version("nn_convert");
        return CLI_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "--softmax")) {
        flags |= NN_ONNX_SOFTMAX;
        first = 2;
    }
    if (argc - first != 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    in = argv[first];
    out = argv[first + 1];
    if (!cli_has_suffix(out, ".onnx") && !cli_has_suffix(out, ".nnm") &&
        !cli_has_suffix(out, ".mat") && !cli_has_suffix(out, "/") &&
        !cli_has_suffix(out, ".c")) {
        fprintf(stderr, "nn_convert: %s: the output's name must end in .onnx, "
                        ".nnm, .mat, .c or / (a directory of .npy files)\n", out);
        return CLI_USAGE;
    }
    if (nn_model_file_is_int8(in))
        return convert_int8(in, out, flags);
    if (cli_load_model(in, 1, 0, &net, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "nn_convert: %s\n", msg);
        return CLI_FAIL;
    }
    if (cli_has_suffix(out, ".onnx"))
        st = nn_onnx_save(net, out, flags, msg, sizeof msg);
    else if (cli_has_suffix(out, ".nnm"))
        st = nn_model_save(net, out, msg, sizeof msg);
    else if (cli_has_suffix(out, ".c"))
        st = write_c(net, in, out, msg, sizeof msg);
    else if (cli_has_suffix(out, ".mat"))
        st = nn_weights_save_mat(net, out, msg, sizeof msg);
    else
        st = nn_weights_save_npy(net, out, msg, sizeof msg);
    nn_net_destroy(net);
    if (st != NN_OK) {
        fprintf(stderr, "nn_convert: %s\n", msg);
        return CLI_FAIL;
    }
    return CLI_OK;
}
