/* qmodel_variant: an int8 model changed so that its ONNX export takes the
 * paths trained nets do not (tests/crosscheck.sh):
 *   qmodel_variant IN OUT
 * the first conv whose output zero point is above 0 gets a relu folded
 * (lo = zero point: a Relu in the QDQ graph), the next conv a clamp to
 * [zero point + 2, 250] (a Clip), and the first table an unknown function
 * (a Gather of its bytes). libnn runs the changed model as it is, so ONNX
 * Runtime must still agree with it. */
#include <stdio.h>
#include <string.h>

#include "nn.h"
#include "quant/qmodel.h"

int main(int argc, char **argv)
{
    char msg[256];
    nn_qmodel *q = NULL;
    int relu = 0, clip = 0, table = 0;
    if (argc != 3) {
        fprintf(stderr, "usage: qmodel_variant IN OUT\n");
        return 2;
    }
    if (nn_qmodel_load(argv[1], 1, &q, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "qmodel_variant: %s\n", msg);
        return 1;
    }
    for (int i = 0; i < q->op_count; i++) {
        nn_qop *op = &q->ops[i];
        int32_t zero = q->tensors[i + 1].zero_point;
        if (op->kind == NN_QOP_CONV && !op->conv.int32_out) {
            if (!relu && zero > 0) {
                op->conv.lo = zero;
                op->conv.relu = 1;
                relu = i + 1;
            } else if (relu && !clip && zero + 2 <= 250) {
                op->conv.lo = zero + 2;
                op->conv.hi = 250;
                clip = i + 1;
            }
        } else if (op->kind == NN_QOP_LUT && !table) {
            snprintf(op->fp32_kind, sizeof op->fp32_kind, "custom");
            table = i + 1;
        }
    }
    if (!relu || !clip || !table) {
        fprintf(stderr, "qmodel_variant: %s has no conv with a zero point "
                        "above 0, conv after it or table\n", argv[1]);
        nn_qmodel_free(q);
        return 1;
    }
    if (nn_qmodel_save(q, argv[2], msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "qmodel_variant: %s\n", msg);
        nn_qmodel_free(q);
        return 1;
    }
    printf("%s: op %d relu folded, op %d clamped to [z + 2, 250], op %d an "
           "unknown table\n", argv[2], relu - 1, clip - 1, table - 1);
    nn_qmodel_free(q);
    return 0;
}
