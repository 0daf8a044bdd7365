/* int8 models end to end: quantized nets (a LeNet, a deep net with
 * batchnorm, a graph with add, concat, leaky relu, padded pooling and an
 * unfoldable batchnorm) agree with their fp32 nets; model files round-trip
 * bit for bit and hostile ones are refused; bad calibration data is refused;
 * an int8 file is refused by the fp32 loaders. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nn.h"
#include "quant/quant.h"
#include "testutil.h"

#define SIDE 28
#define CLASSES 10
#define TRAIN 512
#define CALIB 256
#define EVAL 400

static char dir[] = "/tmp/nn_quant_XXXXXX";

/* dir/name in buf */
static const char *in_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

/* count images (count, 1, SIDE, SIDE) in [0, 1]: class k brightens band k
 * (rows 2k..2k+2) a little over strong noise, so that nets trained on them
 * are unsure of some: argmax agreement is then a real test. */
static void make_images(float *x, int *labels, int count, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    for (int i = 0; i < count; i++) {
        int k = (int)nn_rng_below(&rng, CLASSES);
        labels[i] = k;
        for (int p = 0; p < SIDE * SIDE; p++) {
            int row = p / SIDE;
            float v = (float)nn_rng_below(&rng, 160) +
                      (row / 2 == k + 2 ? 90.0f : 0.0f);
            x[(size_t)i * SIDE * SIDE + p] = v / 255.0f;
        }
    }
}

/* A net of spec trained for `steps` SGD steps of 32 images. */
static nn_net *trained(const char *spec, int steps)
{
    static float x[TRAIN * SIDE * SIDE];
    static int y[TRAIN];
    nn_optim_settings s = tu_sgd(0.02f, 0.9f, 0.0f);
    nn_net *net = tu_net(spec, 1, SIDE, SIDE, 64, 7);
    nn_optim *opt = tu_optim(net, &s);
    make_images(x, y, TRAIN, 1);
    for (int step = 0; step < steps; step++) {
        int first = (step * 32) % TRAIN;
        float loss;
        memcpy(nn_net_input(net)->x, x + (size_t)first * SIDE * SIDE,
               32 * SIDE * SIDE * sizeof(float));
        assert_int_equal(nn_net_forward(net, 32), NN_OK);
        assert_int_equal(nn_net_softmax_xent(net, y + first, &loss), NN_OK);
        nn_net_zero_grad(net);
        assert_int_equal(nn_net_backward(net), NN_OK);
        assert_int_equal(nn_optim_step(opt, net), NN_OK);
    }
    nn_optim_destroy(opt);
    nn_net_set_training(net, 0);
    return net;
}

static int argmax(const float *p, int n)
{
    int best = 0;
    for (int k = 1; k < n; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

/* Quantizes net on CALIB images and compares it on EVAL others: argmax
 * agreement and the largest probability difference. */
static nn_qmodel *compare(nn_net *net, const char *name, double min_agree,
                          double max_diff)
{
    static float calib[CALIB * SIDE * SIDE], eval[EVAL * SIDE * SIDE];
    static int labels[EVAL];
    float probs[64 * CLASSES];
    nn_qmodel *q = NULL;
    char msg[256];
    int agree = 0, right_fp32 = 0, right_int8 = 0;
    double worst = 0;
    make_images(calib, labels, CALIB, 2);
    make_images(eval, labels, EVAL, 3);
    assert_int_equal(nn_quantize(net, calib, CALIB, NULL, &q, msg, sizeof msg),
                     NN_OK);
    for (int first = 0; first < EVAL; first += 50) {
        memcpy(nn_net_input(net)->x, eval + (size_t)first * SIDE * SIDE,
               50 * SIDE * SIDE * sizeof(float));
        assert_int_equal(nn_net_forward(net, 50), NN_OK);
        assert_int_equal(nn_net_softmax(net), NN_OK);
        assert_int_equal(nn_qmodel_predict(q, eval + (size_t)first * SIDE * SIDE,
                                           50, probs), NN_OK);
        for (int i = 0; i < 50; i++) {
            const float *pf = nn_net_probs(net) + i * CLASSES;
            const float *pq = probs + i * CLASSES;
            agree += argmax(pf, CLASSES) == argmax(pq, CLASSES);
            right_fp32 += argmax(pf, CLASSES) == labels[first + i];
            right_int8 += argmax(pq, CLASSES) == labels[first + i];
            for (int k = 0; k < CLASSES; k++)
                worst = fmax(worst, fabs((double)pf[k] - pq[k]));
        }
    }
    printf("%s: %d ops, argmax agreement %d/%d, accuracy fp32 %d int8 %d, "
           "largest probability difference %.4f\n", name, q->op_count, agree,
           EVAL, right_fp32, right_int8, worst);
    assert_true(agree >= min_agree * EVAL);
    assert_true(worst <= max_diff);
    return q;
}

static void test_lenet_agrees(void **state)
{
    nn_net *net = trained("lenet", 48);
    nn_qmodel *q = compare(net, "lenet", 0.99, 0.05);
    /* conv+relu folded: conv, pool, conv, pool, dense */
    assert_int_equal(q->op_count, 5);
    assert_int_equal(q->ops[0].conv.relu, 1);
    assert_int_equal(q->ops[4].conv.int32_out, 1);
    nn_qmodel_free(q);
    nn_net_destroy(net);
    (void)state;
}

static void test_deep_bn_agrees(void **state)
{
    nn_net *net = trained("conv3x3x8p1,bn,relu,conv3x3x8p1,bn,relu,pool2,"
                          "conv3x3x16p1,bn,relu,pool2,dense32,bn,relu,"
                          "dropout,dense10", 48);
    nn_qmodel *q = compare(net, "deep-bn", 0.99, 0.05);
    /* every bn and relu folded, dropout gone: 3 conv, 2 pool, 2 dense */
    assert_int_equal(q->op_count, 7);
    assert_int_equal(q->ops[0].conv.bn_folded, 1);
    nn_qmodel_free(q);
    nn_net_destroy(net);
    (void)state;
}

static const char *residual_spec =
    "conv3x3x8p1,bn,relu@a,conv3x3x8p1,bn,leakyrelu0.1,conv3x3x8p1,bn,"
    "add(a),relu,avgpool3s2p1@p,conv1x1x8@b,conv3x3x8p1(p),concat(b),"
    "avgpool3s2p1e,pool3s2p1c,bn,tanh,conv3x3x16p1,relu,gap,dense32,sigmoid,"
    "dense10";

static void test_residual_agrees(void **state)
{
    nn_net *net = trained(residual_spec, 160);
    nn_qmodel *q = compare(net, "residual", 0.99, 0.05);
    int kinds[9] = {0};
    for (int i = 0; i < q->op_count; i++)
        kinds[q->ops[i].kind]++;
    assert_int_equal(kinds[NN_QOP_ADD], 1);
    assert_int_equal(kinds[NN_QOP_CONCAT], 1);
    assert_int_equal(kinds[NN_QOP_AFFINE], 1);
    assert_int_equal(kinds[NN_QOP_LUT], 3); /* leaky, tanh, sigmoid */
    for (int i = 0; i < q->op_count; i++)
        if (q->ops[i].kind == NN_QOP_ADD)
            assert_int_equal(q->ops[i].join.relu, 1); /* relu folded */
    assert_int_equal(kinds[NN_QOP_AVGPOOL], 3);
    nn_qmodel_free(q);
    nn_net_destroy(net);
    (void)state;
}

/* A small quantized graph (every kind of op) and its calibration images. */
static nn_qmodel *small_model(nn_net **net_out)
{
    static float calib[64 * SIDE * SIDE];
    static int labels[64];
    nn_net *net = tu_net(residual_spec, 1, SIDE, SIDE, 64, 3);
    nn_qmodel *q = NULL;
    char msg[256];
    make_images(calib, labels, 64, 2);
    nn_net_set_training(net, 0);
    assert_int_equal(nn_quantize(net, calib, 64, NULL, &q, msg, sizeof msg),
                     NN_OK);
    *net_out = net;
    return q;
}

/* Saved, loaded: the same logits to the bit, and the same file again. */
static void test_file_round_trip(void **state)
{
    static float x[16 * SIDE * SIDE];
    static int y[16];
    float a[16 * CLASSES], b[16 * CLASSES];
    nn_net *net;
    nn_qmodel *q = small_model(&net), *back = NULL;
    char p1[256], p2[256];
    const char *path = in_dir(p1, sizeof p1, "q.nnm");
    const char *again = in_dir(p2, sizeof p2, "q2.nnm");
    unsigned char *f1, *f2;
    size_t n1, n2;
    char msg[256];
    make_images(x, y, 16, 8);
    assert_int_equal(nn_qmodel_save(q, path, msg, sizeof msg), NN_OK);
    assert_int_equal(nn_model_file_is_int8(path), 1);
    assert_int_equal(nn_qmodel_load(path, 16, &back, msg, sizeof msg), NN_OK);
    assert_int_equal(nn_qmodel_logits(q, x, 16, a), NN_OK);
    assert_int_equal(nn_qmodel_logits(back, x, 16, b), NN_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(nn_qmodel_save(back, again, msg, sizeof msg), NN_OK);
    f1 = tu_read_file(path, &n1);
    f2 = tu_read_file(again, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(f1, f2, n1);
    /* the portable kernels give the same logits */
    nn_qmodel_set_avx2(back, 0);
    assert_int_equal(nn_qmodel_logits(back, x, 16, b), NN_OK);
    assert_memory_equal(a, b, sizeof a);
    /* batches beyond max_batch refused */
    assert_int_equal(nn_qmodel_logits(back, x, 17, b), NN_ESHAPE);
    free(f1);
    free(f2);
    nn_qmodel_free(q);
    nn_qmodel_free(back);
    nn_net_destroy(net);
    (void)state;
}

/* Loads path and expects a refusal whose message holds want. */
static void refused(const char *path, const char *want)
{
    nn_qmodel *q = (nn_qmodel *)1;
    char msg[512];
    assert_int_not_equal(nn_qmodel_load(path, 4, &q, msg, sizeof msg), NN_OK);
    assert_null(q);
    if (!strstr(msg, want)) {
        printf("message \"%s\" lacks \"%s\"\n", msg, want);
        fail();
    }
}

/* Saves q (one field spoiled by the caller) and expects want. */
static void refused_with(nn_qmodel *q, const char *path, const char *want)
{
    char msg[256];
    assert_int_equal(nn_qmodel_save(q, path, msg, sizeof msg), NN_OK);
    refused(path, want);
}

static void test_hostile_files_refused(void **state)
{
    nn_net *net;
    nn_qmodel *q = small_model(&net);
    char p1[256];
    const char *path = in_dir(p1, sizeof p1, "bad.nnm");
    unsigned char *bytes;
    size_t size;
    char msg[256];
    nn_net *fp32 = NULL;
    assert_int_equal(nn_qmodel_save(q, path, msg, sizeof msg), NN_OK);
    bytes = tu_read_file(path, &size);
    /* truncated anywhere: header, tensors, weights, checksum */
    for (size_t cut = 0; cut < size; cut += cut < 200 ? 7 : 997) {
        tu_write_file(path, bytes, cut);
        refused(path, cut < 8 ? "not an int8 model" : "");
    }
    tu_write_file(path, bytes, size - 1);
    refused(path, "checksum");
    /* one byte changed */
    bytes[size / 2] ^= 0x40;
    tu_write_file(path, bytes, size);
    refused(path, "checksum mismatch");
    bytes[size / 2] ^= 0x40;
    /* values that are well-formed bytes but not valid models */
    {
        float keep = q->tensors[2].scale;
        q->tensors[2].scale = NAN;
        refused_with(q, path, "tensor 2: scale nan");
        q->tensors[2].scale = 0.0f;
        refused_with(q, path, "tensor 2: scale 0");
        q->tensors[2].scale = -0.5f;
        refused_with(q, path, "tensor 2: scale -0.5");
        q->tensors[2].scale = INFINITY;
        refused_with(q, path, "tensor 2: scale inf");
        q->tensors[2].scale = keep;
    }
    {
        int32_t keep = q->tensors[1].zero_point;
        q->tensors[1].zero_point = 300;
        refused_with(q, path, "zero point 300");
        q->tensors[1].zero_point = keep;
    }
    {
        nn_qmul keep = q->ops[0].conv.requant[0];
        q->ops[0].conv.requant[0].shift = 40;
        refused_with(q, path, "shift 40) is out of range");
        q->ops[0].conv.requant[0].shift = keep.shift;
        q->ops[0].conv.requant[0].mult = 1000;
        refused_with(q, path, "multiplier 1000");
        q->ops[0].conv.requant[0] = keep;
    }
    {
        int8_t keep = q->ops[0].conv.weight[3];
        q->ops[0].conv.weight[3] = -128;
        refused_with(q, path, "outside -127..127");
        q->ops[0].conv.weight[3] = keep;
    }
    {
        int keep = q->ops[1].from[0];
        q->ops[1].from[0] = 5;
        refused_with(q, path, "not an earlier one");
        q->ops[1].from[0] = keep;
    }
    {
        int keep = q->tensors[1].c;
        q->tensors[1].c = 9;
        refused_with(q, path, "does not follow");
        q->tensors[1].c = keep;
    }
    /* the unspoiled model still loads */
    assert_int_equal(nn_qmodel_save(q, path, msg, sizeof msg), NN_OK);
    {
        nn_qmodel *ok = NULL;
        assert_int_equal(nn_qmodel_load(path, 4, &ok, msg, sizeof msg), NN_OK);
        nn_qmodel_free(ok);
    }
    /* the fp32 loaders refuse an int8 file, saying what it is */
    assert_int_equal(nn_model_load(path, 4, &fp32, msg, sizeof msg),
                     NN_EFORMAT);
    assert_null(fp32);
    assert_non_null(strstr(msg, "an int8 model can be run, not trained"));
    assert_int_equal(nn_model_load_inference(path, 4, &fp32, msg, sizeof msg),
                     NN_EFORMAT);
    assert_non_null(strstr(msg, "an int8 model"));
    /* and the int8 loader an fp32 file */
    assert_int_equal(nn_model_save(net, path, msg, sizeof msg), NN_OK);
    assert_int_equal(nn_model_file_is_int8(path), 0);
    refused(path, "an fp32 model file");
    free(bytes);
    nn_qmodel_free(q);
    nn_net_destroy(net);
    (void)state;
}

static void test_bad_calibration_refused(void **state)
{
    static float x[8 * SIDE * SIDE];
    static int y[8];
    nn_net *net = tu_net("lenet", 1, SIDE, SIDE, 8, 1), *unbuilt = NULL;
    nn_qmodel *q = NULL;
    nn_quant_options o = nn_quant_defaults();
    char msg[256];
    make_images(x, y, 8, 1);
    assert_int_equal(nn_quantize(net, x, 0, NULL, &q, msg, sizeof msg),
                     NN_EINVAL);
    assert_non_null(strstr(msg, "n < 1"));
    assert_int_equal(nn_quantize(net, x, -3, NULL, &q, msg, sizeof msg),
                     NN_EINVAL);
    assert_int_equal(nn_quantize(net, NULL, 8, NULL, &q, msg, sizeof msg),
                     NN_EINVAL);
    assert_non_null(strstr(msg, "no calibration images"));
    x[5 * SIDE * SIDE + 17] = NAN;
    assert_int_equal(nn_quantize(net, x, 8, NULL, &q, msg, sizeof msg),
                     NN_ENUMERIC);
    assert_non_null(strstr(msg, "is nan"));
    x[5 * SIDE * SIDE + 17] = INFINITY;
    assert_int_equal(nn_quantize(net, x, 8, NULL, &q, msg, sizeof msg),
                     NN_ENUMERIC);
    x[5 * SIDE * SIDE + 17] = 0.5f;
    o.max_batch = 0;
    assert_int_equal(nn_quantize(net, x, 8, &o, &q, msg, sizeof msg),
                     NN_EINVAL);
    assert_null(q);
    assert_int_equal(nn_net_create(1, SIDE, SIDE, &unbuilt), NN_OK);
    assert_int_equal(nn_quantize(unbuilt, x, 8, NULL, &q, msg, sizeof msg),
                     NN_ESTATE);
    assert_non_null(strstr(msg, "not built"));
    /* the same images, valid, are accepted */
    assert_int_equal(nn_quantize(net, x, 8, NULL, &q, msg, sizeof msg), NN_OK);
    nn_qmodel_free(q);
    nn_net_destroy(unbuilt);
    nn_net_destroy(net);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenet_agrees),
        cmocka_unit_test(test_deep_bn_agrees),
        cmocka_unit_test(test_residual_agrees),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_hostile_files_refused),
        cmocka_unit_test(test_bad_calibration_refused),
    };
    return TU_RUN_IN_DIR(tests, dir);
}
