/* The integer kernels of int8 models: the AVX2 gemm equals the portable
 * one and the u8 x s8 reference bit for bit (random and extreme data);
 * requantization against float64 (within 1, exact on hand-picked ties);
 * pooling, add, concat and tables against float references within 1 LSB. */
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
#include "core/util.h"
#include "quant/qkernels.h"
#include "quant/qmath.h"

/* One gemm of rows x out x depth on a, w: the reference, the portable and
 * (when the CPU has it) the AVX2 path agree on every sum. */
static void check_gemm(int rows, int out, int depth, const uint8_t *a,
                       const int8_t *w, const int32_t *bias)
{
    int depth16 = nn_q_depth16(depth);
    int16_t *a16 = malloc((size_t)rows * depth16 * sizeof *a16);
    int16_t *w16 = malloc((size_t)out * depth16 * sizeof *w16);
    int32_t *ref = malloc((size_t)rows * out * sizeof *ref);
    int32_t *got = malloc((size_t)rows * out * sizeof *got);
    assert_true(a16 && w16 && ref && got);
    nn_q_widen_rows(rows, depth, a, a16);
    nn_q_pack_weights(out, depth, w, w16);
    nn_q_gemm_u8s8_ref(rows, out, depth, a, w, bias, ref);
    nn_q_gemm_s16_portable(rows, out, depth16, a16, w16, bias, got);
    assert_memory_equal(ref, got, (size_t)rows * out * sizeof *ref);
#if defined(__x86_64__)
    if (nn_cpu_has_avx2()) {
        memset(got, 0, (size_t)rows * out * sizeof *got);
        nn_q_gemm_s16_avx2(rows, out, depth16, a16, w16, bias, got);
        assert_memory_equal(ref, got, (size_t)rows * out * sizeof *ref);
    }
#endif
    free(a16);
    free(w16);
    free(ref);
    free(got);
}

/* fill: 0 random, 1 all 255 and +127, 2 all 255 and -127, 3 alternating
 * extremes */
static void gemm_case(int rows, int out, int depth, int fill, nn_rng *rng)
{
    uint8_t *a = malloc((size_t)rows * depth);
    int8_t *w = malloc((size_t)out * depth);
    int32_t *bias = malloc((size_t)out * sizeof *bias);
    assert_true(a && w && bias);
    for (int i = 0; i < rows * depth; i++)
        a[i] = fill ? 255 : (uint8_t)nn_rng_below(rng, 256);
    for (int i = 0; i < out * depth; i++)
        w[i] = fill == 1   ? 127
               : fill == 2 ? -127
               : fill == 3 ? (i % 2 ? 127 : -127)
                           : (int8_t)((int)nn_rng_below(rng, 255) - 127);
    for (int o = 0; o < out; o++)
        bias[o] = (int32_t)nn_rng_below(rng, 2000001) - 1000000;
    check_gemm(rows, out, depth, a, w, bias);
    free(a);
    free(w);
    free(bias);
}

static void test_gemm_avx2_equals_portable(void **state)
{
    static const int depths[] = {1, 15, 16, 17, 25, 31, 33, 75, 144, 576, 3136};
    nn_rng rng;
    nn_rng_seed(&rng, 11);
    for (int fill = 0; fill < 4; fill++)
        for (size_t d = 0; d < sizeof depths / sizeof *depths; d++)
            for (int rows = 1; rows <= 5; rows++)
                for (int out = 1; out <= 9; out += 2)
                    gemm_case(rows, out, depths[d], fill, &rng);
    gemm_case(37, 19, 1000, 1, &rng); /* 255*127*1000 = 32.4M per sum */
    printf("gemm: reference, portable%s agree on %d shapes x 4 fills\n",
           nn_cpu_has_avx2() ? " and AVX2" : "", 11 * 5 * 5 + 1);
    (void)state;
}

/* A pair of 255 x 127 products is 64770, past int16: the pairs vpmaddubsw
 * would sum (and saturate) must come out exact. */
static void test_gemm_extreme_pairs_exact(void **state)
{
    uint8_t a[32];
    int8_t w[32];
    int32_t bias = 0, acc = 0;
    int16_t a16[32], w16[32];
    memset(a, 255, sizeof a);
    memset(w, 127, sizeof w);
    nn_q_widen_rows(1, 32, a, a16);
    nn_q_pack_weights(1, 32, w, w16);
    nn_q_gemm_pick(1)(1, 1, 32, a16, w16, &bias, &acc);
    assert_int_equal(acc, 32 * 255 * 127);
    (void)state;
}

/* requant against round(x m) in float64: within 1 everywhere, and the
 * ties of the documented rounding exactly. */
static void test_requant_rounding(void **state)
{
    nn_rng rng;
    nn_qmul m;
    int worst = 0;
    nn_rng_seed(&rng, 5);
    for (int i = 0; i < 200000; i++) {
        double real = ldexp(0.5 + 0.5 * nn_rng_uniform(&rng),
                            -(int)nn_rng_below(&rng, 20) + 2);
        int32_t x = (int32_t)(nn_rng_next(&rng) >> 40) - (1 << 23);
        double want;
        int32_t got;
        assert_int_equal(nn_qmul_from_real(real, &m), NN_OK);
        assert_true(fabs(nn_qmul_to_real(m) - real) <= real * ldexp(1, -30));
        want = round((double)x * real);
        got = nn_q_requant(x, m);
        worst = (int)fmax(worst, fabs(got - want));
        assert_true(fabs(got - want) <= 1.0);
    }
    /* ties, by the documented formula: srdhm rounds half up (towards
     * +inf: its nudge for a negative product is 1 - 2^30), rdivpot half
     * away from zero; the two roundings compound (5 / 4 gives 2).
     * m = 1/2 (M 2^30, shift 0), 1/4 (shift 1), 1/8 (shift 2). */
    m = (nn_qmul){INT32_C(1) << 30, 0};
    assert_int_equal(nn_q_requant(3, m), 2);   /* 1.5 */
    assert_int_equal(nn_q_requant(-3, m), -1); /* -1.5 */
    assert_int_equal(nn_q_requant(5, m), 3);   /* 2.5 */
    assert_int_equal(nn_q_requant(-5, m), -2); /* -2.5 */
    assert_int_equal(nn_q_requant(4, m), 2);
    m.shift = 1;
    assert_int_equal(nn_q_requant(2, m), 1);   /* 0.5 */
    assert_int_equal(nn_q_requant(-2, m), -1); /* -0.5: srdhm -1, then -0.5 */
    assert_int_equal(nn_q_requant(6, m), 2);   /* 1.5 */
    assert_int_equal(nn_q_requant(-6, m), -2); /* srdhm -3, then -1.5 */
    assert_int_equal(nn_q_requant(5, m), 2);   /* srdhm 3 (2.5 up), 1.5 */
    assert_int_equal(nn_q_requant(-5, m), -1); /* srdhm -2, then -1 */
    m.shift = 2;
    assert_int_equal(nn_q_requant(12, m), 2);  /* 1.5 */
    assert_int_equal(nn_q_requant(-12, m), -2);
    assert_int_equal(nn_q_requant(11, m), 2);  /* srdhm 6, 1.5 */
    assert_int_equal(nn_q_requant(-11, m), -1); /* srdhm -5, -1.25 */
    assert_int_equal(nn_q_requant(13, m), 2);
    /* the two roundings as documented: srdhm first, then rdivpot */
    assert_int_equal(nn_q_srdhm(1, INT32_C(1) << 30), 1);  /* 0.5 -> 1 */
    assert_int_equal(nn_q_srdhm(-1, INT32_C(1) << 30), 0); /* -0.5 -> 0 */
    assert_int_equal(nn_q_srdhm(-3, INT32_C(1) << 30), -1);
    assert_int_equal(nn_q_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
    assert_int_equal(nn_q_rdivpot(5, 1), 3);
    assert_int_equal(nn_q_rdivpot(-5, 1), -3);
    assert_int_equal(nn_q_rdivpot(7, 2), 2);
    assert_int_equal(nn_q_rdivpot(-6, 2), -2);
    assert_int_equal(nn_q_rdivpot(-7, 2), -2);
    /* a left shift: m = 3 (M 0.75 2^31, shift -2) */
    assert_int_equal(nn_qmul_from_real(3.0, &m), NN_OK);
    assert_int_equal(m.shift, -2);
    assert_int_equal(nn_q_requant(1000, m), 3000);
    assert_int_equal(nn_q_requant(INT32_MAX / 2, m), nn_q_srdhm(INT32_MAX, m.mult));
    /* out of range multipliers refused */
    assert_int_equal(nn_qmul_from_real(0.0, &m), NN_EINVAL);
    assert_int_equal(nn_qmul_from_real(NAN, &m), NN_EINVAL);
    assert_int_equal(nn_qmul_from_real(-1.0, &m), NN_EINVAL);
    assert_int_equal(nn_qmul_from_real(ldexp(1, 40), &m), NN_EINVAL);
    assert_int_equal(nn_qmul_from_real(ldexp(1, -40), &m), NN_OK);
    assert_int_equal(m.shift, 31);
    assert_int_equal(nn_q_requant(1000000, m), 0);
    assert_int_equal(nn_q_requant(INT32_MAX, m), 1); /* 0.5 rounds up */
    printf("requant: 200000 random cases within %d of float64; ties exact\n",
           worst);
    (void)state;
}

static void test_quantize_input(void **state)
{
    float x[8] = {0.0f, 0.5f, -0.5f, 1.0f, 100.0f, -100.0f, NAN, 0.25f};
    uint8_t q[8];
    /* scale 0.5, zero 10: 0 -> 10, 0.5 -> 11, -0.5 -> 9, 1 -> 12,
     * 0.25 -> 0.5 rounds away -> 11, NaN -> 10 */
    nn_q_quantize(x, 8, 0.5f, 10, q);
    assert_int_equal(q[0], 10);
    assert_int_equal(q[1], 11);
    assert_int_equal(q[2], 9);
    assert_int_equal(q[3], 12);
    assert_int_equal(q[4], 210);
    assert_int_equal(q[5], 0);
    assert_int_equal(q[6], 10);
    assert_int_equal(q[7], 11);
    /* the AVX2 form equals it on ties, NaN, infinities, huge and random
     * values, and on a length that is not a multiple of 8 */
    {
        enum { N = 4099 };
        static float v[N];
        static uint8_t a[N], b[N];
        nn_rng rng;
        nn_rng_seed(&rng, 16);
        for (int i = 0; i < N; i++) {
            float r = nn_rng_uniform(&rng);
            v[i] = i % 7 == 0   ? ((float)(i % 600) - 300.0f + 0.5f) * 0.25f
                   : i % 7 == 1 ? (i % 2 ? NAN : INFINITY) * (i % 3 ? 1 : -1)
                   : i % 7 == 2 ? (r - 0.5f) * 1e9f
                                : (r - 0.5f) * 80.0f;
        }
        nn_q_quantize(v, N, 0.25f, 37, a);
        nn_q_quantize_pick(1)(v, N, 0.25f, 37, b);
        assert_memory_equal(a, b, N);
    }
    (void)state;
}

/* Random uint8 planes of one scale and zero point; pooling against the
 * float mean / max of their real values, within 1 LSB. */
static void test_pooling_against_float(void **state)
{
    enum { H = 9, W = 7, PLANES = 3 };
    static const int shapes[][5] = {/* k, stride, pad, ceil, exclude */
                                    {2, 2, 0, 0, 0}, {3, 2, 1, 0, 0},
                                    {3, 2, 1, 1, 0}, {3, 2, 1, 1, 1},
                                    {3, 1, 2, 0, 1}, {4, 3, 2, 1, 0}};
    uint8_t x[PLANES * H * W], y[PLANES * 16 * 16];
    float xf[PLANES * H * W], yf[PLANES * 16 * 16];
    int where[PLANES * 16 * 16];
    const float scale = 0.05f;
    const int32_t zero = 77;
    nn_rng rng;
    nn_rng_seed(&rng, 9);
    for (int i = 0; i < PLANES * H * W; i++) {
        x[i] = (uint8_t)nn_rng_below(&rng, 256);
        xf[i] = scale * (float)(x[i] - zero);
    }
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        nn_pool2d_shape s = {.in_h = H, .in_w = W, .kh = shapes[c][0],
                             .kw = shapes[c][0], .stride = shapes[c][1],
                             .pad = shapes[c][2], .ceil_mode = shapes[c][3],
                             .exclude_pad = shapes[c][4]};
        int n;
        assert_int_equal(nn_pool2d_shape_check(&s), NN_OK);
        n = s.out_h * s.out_w * PLANES;
        nn_avgpool_forward(&s, xf, yf, PLANES);
        nn_q_avgpool(&s, x, zero, y, PLANES);
        for (int i = 0; i < n; i++)
            assert_true(fabsf(scale * (float)(y[i] - zero) - yf[i]) <=
                        0.5f * scale + 1e-5f);
        nn_maxpool_forward(&s, xf, yf, where, PLANES);
        nn_q_maxpool(&s, x, y, PLANES);
        for (int i = 0; i < n; i++)
            assert_true(scale * (float)(y[i] - zero) == yf[i]);
    }
    /* global: the mean of each plane */
    nn_q_global_avgpool(x, zero, H * W, y, PLANES);
    for (int p = 0; p < PLANES; p++) {
        double mean = 0;
        for (int i = 0; i < H * W; i++)
            mean += xf[p * H * W + i];
        mean /= H * W;
        assert_true(fabs(scale * (y[p] - zero) - mean) <= 0.5 * scale + 1e-6);
    }
    (void)state;
}

/* add, concat's rescale, the table and the affine op against float64. */
static void test_join_lut_affine_against_float(void **state)
{
    enum { N = 4096 };
    static uint8_t a[N], b[N], y[N];
    const float sa = 0.031f, sb = 0.017f, so = 0.052f;
    const int32_t za = 13, zb = 200, zo = 120;
    const uint8_t *x[2] = {a, b};
    int32_t zeros[2] = {za, zb};
    nn_qjoin j = {0};
    nn_rng rng;
    double s_max = sa > sb ? sa : sb;
    nn_rng_seed(&rng, 3);
    for (int i = 0; i < N; i++) {
        a[i] = (uint8_t)nn_rng_below(&rng, 256);
        b[i] = (uint8_t)nn_rng_below(&rng, 256);
    }
    assert_int_equal(nn_qmul_from_real(sa / (2 * s_max), &j.in[0]), NN_OK);
    assert_int_equal(nn_qmul_from_real(sb / (2 * s_max), &j.in[1]), NN_OK);
    assert_int_equal(nn_qmul_from_real(2 * s_max / ((1 << NN_QADD_LEFT_SHIFT) *
                                                    (double)so), &j.out),
                     NN_OK);
    j.lo = 0;
    j.hi = 255;
    nn_q_add(x, 2, N, zeros, &j, zo, y);
    for (int i = 0; i < N; i++) {
        double real = sa * (a[i] - za) + (double)sb * (b[i] - zb);
        double want = fmin(255, fmax(0, round(real / so) + zo));
        assert_true(fabs(y[i] - want) <= 1.0);
    }
    /* concat's requantization of one input to the output's scale */
    nn_qmul m;
    assert_int_equal(nn_qmul_from_real(sa / (double)so, &m), NN_OK);
    nn_q_rescale(a, N, za, m, 0, zo, y);
    for (int i = 0; i < N; i++) {
        double want = fmin(255, fmax(0, round(sa * (a[i] - za) / so) + zo));
        assert_true(fabs(y[i] - want) <= 1.0);
    }
    nn_q_rescale(a, N, za, m, 1, zo, y);
    assert_memory_equal(a, y, N);
    /* a table */
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (uint8_t)(255 - v);
    nn_q_lut(a, N, lut, y);
    for (int i = 0; i < N; i++)
        assert_int_equal(y[i], 255 - a[i]);
    /* affine: y = 0.8 x - 0.3 per channel, in scale sa, out so */
    {
        int8_t w[2] = {127, -127};
        int32_t bias[2];
        nn_qmul mm[2];
        double ws = 0.8 / 127, bs = -0.3;
        for (int c = 0; c < 2; c++) {
            bias[c] = (int32_t)round(bs / (sa * ws)) - za * w[c];
            assert_int_equal(nn_qmul_from_real(sa * ws / so, &mm[c]), NN_OK);
        }
        nn_q_affine(a, 2, N / 2, w, bias, mm, zo, 0, 255, y);
        for (int i = 0; i < N; i++) {
            double sign = i < N / 2 ? 1 : -1;
            double real = sign * 0.8 * sa * (a[i] - za) + bs;
            double want = fmin(255, fmax(0, round(real / so) + zo));
            assert_true(fabs(y[i] - want) <= 1.0);
        }
    }
    (void)state;
}

/* A conv through im2col + gemm + requant against float64 on the same
 * integers: the zero point of the input fills the padding and is folded
 * into the bias. */
static void test_conv_against_float(void **state)
{
    enum { C = 3, H = 6, W = 5, OUT = 4, K = 3, PAD = 1 };
    const int oh = H, ow = W, depth = C * K * K;
    uint8_t x[C * H * W], y[OUT * H * W];
    int8_t w[OUT * C * K * K];
    int32_t bias[OUT], folded[OUT], acc[32 * OUT];
    uint8_t col[28 * 32 + 16], padded[C * (H + 2) * (W + 2) + 16];
    uint8_t quads[28 * 32];
    int32_t w4[OUT * 7];
    int32_t acc2[32 * OUT];
    int32_t w2[OUT * 14];
    nn_qmul m[OUT];
    const float s_in = 0.02f, s_out = 0.1f;
    const int32_t z_in = 90, z_out = 30;
    float s_w[OUT];
    nn_rng rng;
    nn_rng_seed(&rng, 4);
    for (int i = 0; i < C * H * W; i++)
        x[i] = (uint8_t)nn_rng_below(&rng, 256);
    for (int i = 0; i < OUT * depth; i++)
        w[i] = (int8_t)((int)nn_rng_below(&rng, 255) - 127);
    for (int o = 0; o < OUT; o++) {
        int32_t sum = 0;
        s_w[o] = 0.001f * (float)(o + 1);
        bias[o] = (int32_t)nn_rng_below(&rng, 20001) - 10000;
        for (int k = 0; k < depth; k++)
            sum += w[o * depth + k];
        folded[o] = bias[o] - z_in * sum;
        assert_int_equal(nn_qmul_from_real((double)s_in * s_w[o] / s_out, &m[o]),
                         NN_OK);
    }
    assert_true(nn_q_im2col_scratch(C, H, W, PAD) == sizeof padded);
    nn_q_im2col(x, C, H, W, K, K, 1, PAD, oh, ow, (uint8_t)z_in, padded, col);
    nn_q_pack_weight_pairs(OUT, depth, w, w2);
    nn_q_conv_gemm_pick(1)(OUT, 28, 32, col, w2, folded, acc);
    /* the AVX-VNNI path (portable where the CPU lacks it) gives the same */
    nn_q_pack_weight_quads(OUT, depth, w, w4);
    nn_q_interleave4(28, 32, col, quads);
    (nn_cpu_has_avxvnni() ? nn_q_conv_gemm_quads_vnni
                          : nn_q_conv_gemm_quads_portable)(OUT, 28, 32, quads,
                                                           w4, folded, acc2);
    for (int o = 0; o < OUT; o++)
        assert_memory_equal(acc + o * 32, acc2 + o * 32,
                            (size_t)oh * ow * sizeof *acc);
    for (int o = 0; o < OUT; o++)
        nn_q_requant_plane_pick(1)(acc + o * 32, oh * ow, m[o], z_out, 0, 255,
                                   y + o * oh * ow);
    for (int o = 0; o < OUT; o++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                double real = (double)s_in * s_w[o] * bias[o];
                for (int c = 0; c < C; c++)
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int iy = oy + ky - PAD, ix = ox + kx - PAD;
                            double v = iy < 0 || iy >= H || ix < 0 || ix >= W
                                           ? 0.0
                                           : s_in * (double)(x[(c * H + iy) * W + ix] - z_in);
                            real += v * s_w[o] * w[((o * C + c) * K + ky) * K + kx];
                        }
                double want = fmin(255, fmax(0, round(real / s_out) + z_out));
                assert_true(fabs(y[(o * oh + oy) * ow + ox] - want) <= 1.0);
            }
    (void)state;
}

/* The conv gemm: reference (natural layout), portable and AVX2 (pairs)
 * agree on every sum, on random and extreme data, odd depths and position
 * counts that are not multiples of 16. */
static void conv_gemm_case(int out, int depth, int positions, int fill,
                           nn_rng *rng)
{
    int pos16 = nn_q_pos16(positions), depth2 = (depth + 1) / 2 * 2;
    uint8_t *a = malloc((size_t)depth * positions);
    int8_t *w = malloc((size_t)out * depth);
    int32_t *bias = malloc((size_t)out * sizeof *bias);
    int depth4 = nn_q_depth4(depth);
    uint8_t *col = malloc((size_t)depth4 * pos16);
    uint8_t *quads = malloc((size_t)depth4 * pos16);
    int32_t *w4 = malloc((size_t)out * depth4 / 4 * sizeof *w4);
    int32_t *w2 = malloc((size_t)out * depth2 / 2 * sizeof *w2);
    int32_t *ref = malloc((size_t)out * positions * sizeof *ref);
    int32_t *got = malloc((size_t)out * pos16 * sizeof *got);
    assert_true(a && w && bias && col && w2 && ref && got && quads && w4);
    for (int i = 0; i < depth * positions; i++)
        a[i] = fill ? 255 : (uint8_t)nn_rng_below(rng, 256);
    for (int i = 0; i < out * depth; i++)
        w[i] = fill == 1   ? 127
               : fill == 2 ? -127
               : fill == 3 ? (i % 2 ? 127 : -127)
                           : (int8_t)((int)nn_rng_below(rng, 255) - 127);
    for (int o = 0; o < out; o++)
        bias[o] = (int32_t)nn_rng_below(rng, 2000001) - 1000000;
    nn_q_conv_gemm_ref(out, depth, positions, a, w, bias, ref);
    nn_q_pack_cols(depth, positions, a, col);
    nn_q_pack_weight_pairs(out, depth, w, w2);
    nn_q_pack_weight_quads(out, depth, w, w4);
    nn_q_interleave4(depth4, pos16, col, quads);
    for (int path = 0; path < 4; path++) {
        if ((path == 1 && !nn_cpu_has_avx2()) ||
            (path == 3 && !nn_cpu_has_avxvnni()))
            continue;
        memset(got, 0, (size_t)out * pos16 * sizeof *got);
        if (path < 2)
            (path ? nn_q_conv_gemm_pick(1) : nn_q_conv_gemm_portable)(
                out, depth2, pos16, col, w2, bias, got);
        else
            (path == 3 ? nn_q_conv_gemm_quads_vnni
                       : nn_q_conv_gemm_quads_portable)(out, depth4, pos16,
                                                        quads, w4, bias, got);
        for (int o = 0; o < out; o++)
            assert_memory_equal(ref + (size_t)o * positions,
                                got + (size_t)o * pos16,
                                (size_t)positions * sizeof *ref);
    }
    free(a);
    free(w);
    free(bias);
    free(col);
    free(w2);
    free(ref);
    free(got);
    free(quads);
    free(w4);
}

static void test_conv_gemm_avx2_equals_portable(void **state)
{
    static const int depths[] = {1, 2, 3, 25, 27, 144, 401, 1152};
    static const int positions[] = {1, 7, 16, 17, 49, 196};
    nn_rng rng;
    int cases = 0;
    nn_rng_seed(&rng, 12);
    for (int fill = 0; fill < 4; fill++)
        for (size_t d = 0; d < sizeof depths / sizeof *depths; d++)
            for (size_t p = 0; p < sizeof positions / sizeof *positions; p++)
                for (int out = 1; out <= 9; out += 4, cases++)
                    conv_gemm_case(out, depths[d], positions[p], fill, &rng);
    printf("conv gemm: reference, portable pairs and quads%s%s agree on %d "
           "cases\n", nn_cpu_has_avx2() ? ", AVX2" : "",
           nn_cpu_has_avxvnni() ? ", AVX-VNNI" : "", cases);
    (void)state;
}

/* The AVX2 requantization of a plane equals the scalar one on random and
 * extreme sums, for shifts 0..31, clamps and zero points. */
static void test_requant_plane_avx2_equals_portable(void **state)
{
    enum { N = 1000 };
    static int32_t acc[N];
    static uint8_t y0[N], y1[N];
    nn_rng rng;
    int checked = 0;
    nn_rng_seed(&rng, 13);
    for (int trial = 0; trial < 400; trial++) {
        nn_qmul m;
        double real = ldexp(0.5 + 0.5 * nn_rng_uniform(&rng),
                            -(int)nn_rng_below(&rng, 34));
        int32_t zero = (int32_t)nn_rng_below(&rng, 256);
        int32_t lo = trial % 3 ? 0 : zero;
        int32_t hi = trial % 5 || lo > 200 ? 255 : 200; /* lo <= hi */
        assert_int_equal(nn_qmul_from_real(real, &m), NN_OK);
        for (int i = 0; i < N; i++) {
            uint64_t r = nn_rng_next(&rng);
            acc[i] = i < 8   ? (int32_t[]){INT32_MAX, INT32_MIN, 0, -1, 1,
                                           INT32_MAX - 1, INT32_MIN + 1,
                                           1 << 30}[i]
                     : i % 3 ? (int32_t)(r >> 32)
                             : (int32_t)(r >> 44) - (1 << 19);
        }
        nn_q_requant_plane(acc, N - trial % 8, m, zero, lo, hi, y0);
        if (!nn_cpu_has_avx2())
            continue;
        nn_q_requant_plane_pick(1)(acc, N - trial % 8, m, zero, lo, hi, y1);
        assert_memory_equal(y0, y1, N - trial % 8);
        checked++;
    }
    printf("requant plane: AVX2 equals portable on %d planes\n", checked);
    (void)state;
}

/* im2col against the textbook patch of each position, for strides 1 to 3,
 * paddings 0 to 2, odd kernels and shapes. */
static void test_im2col_against_naive(void **state)
{
    enum { C = 2, H = 7, W = 9 };
    uint8_t x[C * H * W];
    nn_rng rng;
    int cases = 0;
    nn_rng_seed(&rng, 14);
    for (int i = 0; i < C * H * W; i++)
        x[i] = (uint8_t)nn_rng_below(&rng, 256);
    for (int k = 1; k <= 5; k += 2)
        for (int stride = 1; stride <= 3; stride++)
            for (int pad = 0; pad <= 2; pad++, cases++) {
                int oh = (H + 2 * pad - k) / stride + 1;
                int ow = (W + 2 * pad - k) / stride + 1;
                int depth = C * k * k, pos16 = nn_q_pos16(oh * ow);
                uint8_t *col = malloc((size_t)nn_q_depth4(depth) * pos16 + 16);
                uint8_t *padded = malloc(nn_q_im2col_scratch(C, H, W, pad));
                assert_true(col && padded);
                nn_q_im2col(x, C, H, W, k, k, stride, pad, oh, ow, 77, padded,
                            col);
                /* the direct quads (SSE2 for stride 1) equal the rows
                 * interleaved, at every position */
                {
                    size_t bytes = (size_t)nn_q_depth4(depth) * pos16;
                    uint8_t *q1 = malloc(bytes + 64), *q2 = malloc(bytes);
                    uint8_t *col2 = malloc(bytes + 16);
                    assert_true(q1 && q2 && col2);
                    nn_q_interleave4(nn_q_depth4(depth), pos16, col, q2);
                    nn_q_im2col_quads(x, C, H, W, k, k, stride, pad, oh, ow, 77,
                                      padded, col2, q1);
                    for (int j = 0; j < nn_q_depth4(depth) / 4; j++)
                        for (int p = 0; p < oh * ow; p++)
                            for (int t = 0; t < 4; t++) {
                                size_t at = ((size_t)j * pos16 + p) * 4 + t;
                                if (4 * j + t < depth)
                                    assert_int_equal(q1[at], q2[at]);
                            }
                    free(q1);
                    free(q2);
                    free(col2);
                }
                for (int c = 0; c < C; c++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++)
                            for (int p = 0; p < oh * ow; p++) {
                                int row = (c * k + ky) * k + kx;
                                int iy = p / ow * stride - pad + ky;
                                int ix = p % ow * stride - pad + kx;
                                int want = iy < 0 || iy >= H || ix < 0 || ix >= W
                                               ? 77 : x[(c * H + iy) * W + ix];
                                assert_int_equal(col[(size_t)row * pos16 + p], want);
                            }
                for (size_t z = (size_t)depth * pos16;
                     z < (size_t)nn_q_depth4(depth) * pos16; z++)
                    assert_int_equal(col[z], 0);
                free(col);
                free(padded);
            }
    printf("im2col: %d geometries equal to the naive patches\n", cases);
    (void)state;
}

/* The 2 x 2 max pooling's fast path (16 outputs at a time) against the
 * naive maximum, on planes wide enough to use it, odd sizes included. */
static void test_maxpool_2x2_wide(void **state)
{
    enum { H = 7, W = 89, PLANES = 2 }; /* 44 outputs: 16, 16, 8 and 4 */
    uint8_t x[PLANES * H * W], y[PLANES * 3 * 44];
    nn_pool2d_shape s = {.in_h = H, .in_w = W, .kh = 2, .kw = 2, .stride = 2};
    nn_rng rng;
    nn_rng_seed(&rng, 15);
    for (int i = 0; i < PLANES * H * W; i++)
        x[i] = (uint8_t)nn_rng_below(&rng, 256);
    assert_int_equal(nn_pool2d_shape_check(&s), NN_OK);
    assert_int_equal(s.out_w, 44);
    nn_q_maxpool(&s, x, y, PLANES);
    for (int p = 0; p < PLANES; p++)
        for (int oy = 0; oy < s.out_h; oy++)
            for (int ox = 0; ox < s.out_w; ox++) {
                const uint8_t *a = x + (p * H + 2 * oy) * W + 2 * ox;
                int want = a[0];
                want = a[1] > want ? a[1] : want;
                want = a[W] > want ? a[W] : want;
                want = a[W + 1] > want ? a[W + 1] : want;
                assert_int_equal(y[(p * s.out_h + oy) * s.out_w + ox], want);
            }
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_avx2_equals_portable),
        cmocka_unit_test(test_gemm_extreme_pairs_exact),
        cmocka_unit_test(test_conv_gemm_avx2_equals_portable),
        cmocka_unit_test(test_requant_plane_avx2_equals_portable),
        cmocka_unit_test(test_requant_rounding),
        cmocka_unit_test(test_quantize_input),
        cmocka_unit_test(test_pooling_against_float),
        cmocka_unit_test(test_join_lut_affine_against_float),
        cmocka_unit_test(test_conv_against_float),
        cmocka_unit_test(test_im2col_against_naive),
        cmocka_unit_test(test_maxpool_2x2_wide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
