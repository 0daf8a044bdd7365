/* nn_convert's outputs for an int8 model file (convert_int8.h). */
#include "convert_int8.h"

#include <stdio.h>

#include "cli_args.h"
#include "cli_file.h"
#include "nn.h"

int convert_int8_handles(const char *in, const char *out)
{
    return (cli_has_suffix(out, ".onnx") || cli_has_suffix(out, ".c")) &&
           nn_model_file_is_int8(in);
}

int convert_int8(const char *in, const char *out, unsigned flags)
{
    char msg[512];
    nn_qmodel *q = NULL;
    nn_status st;
    if (!cli_has_suffix(out, ".onnx") && !cli_has_suffix(out, ".c")) {
        fprintf(stderr, "nn_convert: %s: an int8 model is written as ONNX "
                        "(.onnx) or C (.c)\n", out);
        return CLI_USAGE;
    }
    if (nn_qmodel_load(in, 1, &q, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "nn_convert: %s\n", msg);
        return CLI_FAIL;
    }
    if (cli_has_suffix(out, ".onnx"))
        st = nn_qmodel_onnx_save(q, out, flags, msg, sizeof msg);
    else {
        nn_qmodel_c_sizes sizes;
        st = nn_qmodel_c_save(q, out, in, &sizes, msg, sizeof msg);
        if (st == NN_OK)
            printf("%s: int8, constant data %zu bytes, working memory %zu "
                   "bytes (input %zu bytes, output %zu bytes: the caller's)\n",
                   out, sizes.const_bytes, sizes.work_bytes,
                   sizes.in_floats * sizeof(float),
                   sizes.classes * sizeof(float));
    }
    nn_qmodel_free(q);
    if (st != NN_OK) {
        fprintf(stderr, "nn_convert: %s\n", msg);
        return CLI_FAIL;
    }
    return CLI_OK;
}
