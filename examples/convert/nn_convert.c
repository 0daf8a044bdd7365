/* nn_convert: a model from one format to another, by the file names.
 *   nn_convert [--softmax] IN OUT
 *   nn_convert IN OUT.nnm --int8 --calibrate DATA [--calibrate-count N]
 * IN is a libnn model file (.nnm) or an ONNX model (.onnx). OUT is written
 * as ONNX (.onnx, with a final Softmax when --softmax is given), a libnn
 * model file (.nnm), a MATLAB file of the weights (.mat), NumPy .npy files
 * of the weights in a directory (OUT ending in '/'), or C: NAME.c and
 * NAME.h, the model as one function with no libnn (nn_model_c_save). With
 * --int8, OUT is an int8 model file (nn/quant.h), calibrated on N images
 * of DATA's training split, normalised as the model was trained. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_args.h"
#include "cli_data.h"
#include "cli_file.h"
#include "cli_model.h"
#include "convert_int8.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: nn_convert [--softmax] IN OUT\n"
               "       nn_convert IN OUT.nnm --int8 --calibrate DATA "
               "[--calibrate-count N]\n"
               "  IN   model.nnm (fp32 or int8) or model.onnx\n"
               "  OUT  model.onnx, model.nnm, weights.mat, DIR/ for one .npy\n"
               "       file per tensor (layer<i>_weight.npy, ...), or NAME.c for\n"
               "       the model compiled to C (NAME.c and NAME.h: NAME_predict,\n"
               "       no libnn, no allocation; prints the bytes it needs);\n"
               "       an int8 model goes to model.onnx (QLinearConv and\n"
               "       Quantize/DequantizeLinear) or NAME.c (integer C, bit for\n"
               "       bit libnn's int8 path)\n"
               "  --softmax  end an ONNX graph with a Softmax (probabilities)\n"
               "  --int8     write an int8 model file (int8 weights, uint8\n"
               "             activations; predict runs it), its activation ranges\n"
               "             calibrated on DATA: an MNIST-style IDX directory or a\n"
               "             CIFAR-10 binary directory (its training split, spread\n"
               "             evenly; N images, default 1000)\n");
}

/* The model as C, and what it needs: constant data, working memory. */
static nn_status write_c(nn_net *net, const char *in, const char *out,
                         char *msg, size_t msg_size)
{
    nn_model_c_sizes sizes;
    nn_status st = nn_model_c_save(net, out, in, &sizes, msg, msg_size);
    if (st == NN_OK)
        printf("%s: constant data %zu bytes, working memory %zu bytes "
               "(input %zu bytes, output %zu bytes: the caller's)\n",
               out, sizes.const_bytes, sizes.work_bytes,
               sizes.in_floats * sizeof(float), sizes.classes * sizeof(float));
    return st;
}

/* Bytes of the file at path (0 when it cannot be read). */
static long long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* --int8: calibrates on count images of data's training split (spread
 * evenly over it), quantizes, saves, prints the sizes. */
static int write_int8(nn_net *net, const char *in, const char *out,
                      const char *data, long count)
{
    char msg[512];
    nn_dataset d = {0};
    nn_qmodel *q = NULL;
    nn_quant_options opt = nn_quant_defaults();
    float *x = NULL;
    int *index = NULL, *labels = NULL, c, h, w, rc = CLI_FAIL;
    size_t size;
    nn_status st;
    nn_net_input_shape(net, &c, &h, &w);
    if (cli_load_split(data, 1, &d, msg, sizeof msg) != NN_OK ||
        !cli_data_fits(&d, c, h, w, msg, sizeof msg)) {
        fprintf(stderr, "nn_convert: --calibrate %s: %s\n", data, msg);
        nn_dataset_free(&d);
        return CLI_FAIL;
    }
    nn_net_normalization(net, d.mean, d.std); /* as the net was trained */
    count = count < d.count ? count : d.count;
    size = (size_t)count * c * h * w;
    x = malloc(size * sizeof *x);
    index = malloc((size_t)count * sizeof *index);
    labels = malloc((size_t)count * sizeof *labels);
    if (!x || !index || !labels) {
        fprintf(stderr, "nn_convert: out of memory for %ld images\n", count);
        goto done;
    }
    for (long i = 0; i < count; i++)
        index[i] = (int)((long long)i * d.count / count);
    if (nn_dataset_batch(&d, index, (int)count, x, labels) != NN_OK) {
        fprintf(stderr, "nn_convert: cannot read the calibration images\n");
        goto done;
    }
    st = nn_quantize(net, x, (int)count, &opt, &q, msg, sizeof msg);
    if (st == NN_OK)
        st = nn_qmodel_save(q, out, msg, sizeof msg);
    if (st != NN_OK) {
        fprintf(stderr, "nn_convert: %s\n", msg);
        goto done;
    }
    printf("%s: %lld bytes (fp32) -> %s: %lld bytes (int8), %.2fx smaller; "
           "calibrated on %ld images of %s\n", in, file_bytes(in), out,
           file_bytes(out), (double)file_bytes(in) /
           (double)(file_bytes(out) ? file_bytes(out) : 1), count, data);
    rc = CLI_OK;
done:
    nn_qmodel_free(q);
    free(x);
    free(index);
    free(labels);
    nn_dataset_free(&d);
    return rc;
}

int main(int argc, char **argv)
{
    char msg[512], why[128];
    const char *in = NULL, *out = NULL, *calibrate = NULL;
    unsigned flags = 0;
    nn_net *net = NULL;
    nn_status st;
    int int8 = 0, names = 0;
    long count = 1000;
    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        cli_print_version("nn_convert");
        return CLI_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--softmax"))
            flags |= NN_ONNX_SOFTMAX;
        else if (!strcmp(argv[i], "--int8"))
            int8 = 1;
        else if (!strcmp(argv[i], "--calibrate") && i + 1 < argc)
            calibrate = argv[++i];
        else if (!strcmp(argv[i], "--calibrate-count") && i + 1 < argc) {
            if (!cli_parse_long(argv[++i], 1, 1000000, &count, why,
                                sizeof why)) {
                fprintf(stderr, "nn_convert: --calibrate-count '%s': %s\n",
                        argv[i], why);
                return CLI_USAGE;
            }
        } else if (!strncmp(argv[i], "--", 2)) {
            fprintf(stderr, "nn_convert: unknown option or missing value: "
                            "'%s'\n", argv[i]);
            usage(stderr);
            return CLI_USAGE;
        } else if (names++ == 0)
            in = argv[i];
        else
            out = argv[i];
    }
    if (names != 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (int8 != (calibrate != NULL) || (int8 && !cli_has_suffix(out, ".nnm"))) {
        fprintf(stderr, "nn_convert: --int8 needs --calibrate DATA (and the "
                        "reverse), and an output ending in .nnm\n");
        return CLI_USAGE;
    }
    if (!cli_has_suffix(out, ".onnx") && !cli_has_suffix(out, ".nnm") &&
        !cli_has_suffix(out, ".mat") && !cli_has_suffix(out, "/") &&
        !cli_has_suffix(out, ".c")) {
        fprintf(stderr, "nn_convert: %s: the output's name must end in .onnx, "
                        ".nnm, .mat, .c or / (a directory of .npy files)\n", out);
        return CLI_USAGE;
    }
    if (convert_int8_handles(in, out))
        return convert_int8(in, out, flags);
    if (cli_load_model(in, 1, 0, &net, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "nn_convert: %s\n", msg);
        return CLI_FAIL;
    }
    if (int8) {
        int rc = write_int8(net, in, out, calibrate, count);
        nn_net_destroy(net);
        return rc;
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
