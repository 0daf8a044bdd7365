/* libFuzzer target: an int8 model file (nn_qmodel_decode, the loader's
 * parser and checks). A file that decodes must prepare for batches of 1
 * (unless its buffers are too big for a fuzz run), run one image, save, and
 * load again to the same bytes and the same logits.
 *
 * Every input is decoded twice: as it is, and with its last four bytes
 * replaced by the CRC-32 of the rest, so that mutations reach the checks
 * behind the checksum. */
#include "fuzz_util.h"
#include "io/io.h"
#include "io/model_file.h"
#include "quant/quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of every tensor of q for one sample. */
static double tensor_bytes(const nn_qmodel *q)
{
    double total = 0;
    for (int t = 0; t < q->tensor_count; t++)
        total += (double)q->tensors[t].c * q->tensors[t].h * q->tensors[t].w;
    return total;
}

/* Bytes of the largest conv's patches and the multiply-adds of one image:
 * a few valid bytes can ask for far more than a fuzz run affords. */
static int affordable(const nn_qmodel *q)
{
    double macs = 0, patches = 0;
    for (int i = 0; i < q->op_count; i++) {
        const nn_qconv *c = &q->ops[i].conv;
        const nn_qtensor *out = &q->tensors[i + 1];
        if (q->ops[i].kind != NN_QOP_CONV && q->ops[i].kind != NN_QOP_DENSE)
            continue;
        double depth = (double)c->in_c * c->kh * c->kw;
        double positions = (double)out->h * out->w;
        macs += depth * positions * c->out_c;
        patches = depth * positions > patches ? depth * positions : patches;
    }
    return macs <= FUZZ_MAX_MACS && patches <= 4.0 * FUZZ_MAX_FLOATS &&
           tensor_bytes(q) <= 4.0 * FUZZ_MAX_FLOATS;
}

static void check_decoded(nn_qmodel *q)
{
    char path[128], msg[256];
    const char *dir = fuzz_temp_dir();
    float *x, *a, *b;
    size_t in = (size_t)q->in_c * q->in_h * q->in_w;
    nn_qmodel *again = NULL;
    if (!affordable(q) || nn_qmodel_prepare(q, 1, msg, sizeof msg) != NN_OK)
        return;
    x = calloc(in, sizeof *x);
    a = calloc((size_t)q->classes, sizeof *a);
    b = calloc((size_t)q->classes, sizeof *b);
    FUZZ_CHECK(x && a && b && dir);
    for (size_t i = 0; i < in; i++)
        x[i] = (float)(i % 7) - 3.0f;
    FUZZ_CHECK(nn_qmodel_logits(q, x, 1, a) == NN_OK);
    snprintf(path, sizeof path, "%s/q.nnm", dir);
    FUZZ_CHECK(nn_qmodel_save(q, path, msg, sizeof msg) == NN_OK);
    FUZZ_CHECK(nn_qmodel_load(path, 1, &again, msg, sizeof msg) == NN_OK);
    FUZZ_CHECK(nn_qmodel_logits(again, x, 1, b) == NN_OK);
    FUZZ_CHECK(memcmp(a, b, (size_t)q->classes * sizeof *a) == 0);
    nn_qmodel_free(again);
    free(x);
    free(a);
    free(b);
}

static void decode(const uint8_t *data, size_t size)
{
    nn_qmodel *q = NULL;
    char why[256];
    nn_status st = nn_qmodel_decode(data, size, &q, why, sizeof why);
    FUZZ_CHECK(strlen(why) < sizeof why);
    FUZZ_CHECK((st == NN_OK) == (q != NULL));
    FUZZ_CHECK(st == NN_OK || why[0] != '\0');
    if (q)
        check_decoded(q);
    nn_qmodel_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed;
    uint32_t crc;
    decode(data, size);
    if (size < 4)
        return 0;
    crc = nn_crc32(0, data, size - 4);
    fixed = malloc(size);
    FUZZ_CHECK(fixed != NULL);
    memcpy(fixed, data, size - 4);
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    decode(fixed, size);
    free(fixed);
    return 0;
}
