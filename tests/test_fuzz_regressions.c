/* Inputs that made a fuzzer (tests/fuzz) fail, replayed as plain tests, and
 * checks of the code that was fixed. Each input is also kept in the fuzz
 * corpus, where the fuzzers replay it under clang's sanitizers. */
#include "gradcheck.h"
#include "layers/layer.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------- padded convolution (im2col)
 * fuzz_spec, input "\x04lenet" (corpus/fuzz_spec/lenet): the preset on
 * 1x28x28. im2col formed a pointer to row -pad of the image (and col2im one
 * before the row) and indexed it from there: undefined pointer arithmetic
 * that clang's UBSan reports as "addition of unsigned offset overflowed".
 * Fixed in src/layers/layer_conv2d.c: rows are addressed from their start and
 * indexed only at valid columns. */

/* y = conv(x) computed directly from the definition, zero padding. */
static void conv_reference(const nn_conv2d_shape *s, const float *x,
                           const float *w, const float *b, float *y)
{
    for (int o = 0; o < s->out_c; o++)
        for (int oy = 0; oy < s->out_h; oy++)
            for (int ox = 0; ox < s->out_w; ox++) {
                double sum = b[o];
                for (int c = 0; c < s->in_c; c++)
                    for (int i = 0; i < s->kh; i++)
                        for (int j = 0; j < s->kw; j++) {
                            int iy = oy * s->stride - s->pad + i;
                            int ix = ox * s->stride - s->pad + j;
                            if (iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w)
                                sum += (double)w[((o * s->in_c + c) * s->kh + i) * s->kw + j] *
                                       x[(c * s->in_h + iy) * s->in_w + ix];
                        }
                y[(o * s->out_h + oy) * s->out_w + ox] = (float)sum;
            }
}

/* dx = conv^T(dy), the adjoint of conv_reference's sum. */
static void conv_reference_dx(const nn_conv2d_shape *s, const float *w,
                              const float *dy, float *dx)
{
    memset(dx, 0, sizeof(float) * (size_t)s->in_c * s->in_h * s->in_w);
    for (int o = 0; o < s->out_c; o++)
        for (int oy = 0; oy < s->out_h; oy++)
            for (int ox = 0; ox < s->out_w; ox++)
                for (int c = 0; c < s->in_c; c++)
                    for (int i = 0; i < s->kh; i++)
                        for (int j = 0; j < s->kw; j++) {
                            int iy = oy * s->stride - s->pad + i;
                            int ix = ox * s->stride - s->pad + j;
                            if (iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w)
                                dx[(c * s->in_h + iy) * s->in_w + ix] +=
                                    w[((o * s->in_c + c) * s->kh + i) * s->kw + j] *
                                    dy[(o * s->out_h + oy) * s->out_w + ox];
                        }
}

/* The kernels agree with the definition for padding at least as wide as
 * the kernel's reach, with stride 1 and 2. */
static void check_padded_conv(int kh, int kw, int stride, int pad)
{
    nn_conv2d_shape s = {2, 7, 6, 3, kh, kw, stride, pad, 0, 0};
    float x[2 * 7 * 6], w[3 * 2 * 5 * 5], b[3], dw[3 * 2 * 5 * 5], db[3];
    float y[3 * 16 * 16], y_ref[3 * 16 * 16], dx[2 * 7 * 6], dx_ref[2 * 7 * 6];
    float *col;
    nn_rng rng;
    assert_nn_ok(nn_conv2d_shape_check(&s));
    col = malloc(nn_conv2d_scratch(&s) * sizeof *col);
    assert_non_null(col);
    nn_rng_seed(&rng, (uint64_t)(kh * 100 + stride * 10 + pad));
    gc_fill_normal(x, 2 * 7 * 6, 1.0f, &rng);
    gc_fill_normal(w, (size_t)3 * 2 * kh * kw, 1.0f, &rng);
    gc_fill_normal(b, 3, 1.0f, &rng);
    nn_conv2d_forward(&s, x, w, b, y, col, 1);
    conv_reference(&s, x, w, b, y_ref);
    for (int i = 0; i < 3 * s.out_h * s.out_w; i++)
        assert_close(y[i], y_ref[i], 1e-4);
    memset(dx, 0, sizeof dx);
    memset(dw, 0, sizeof dw);
    memset(db, 0, sizeof db);
    nn_conv2d_backward(&s, x, w, y_ref, dx, dw, db, col, 1);
    conv_reference_dx(&s, w, y_ref, dx_ref);
    for (int i = 0; i < 2 * 7 * 6; i++)
        assert_close(dx[i], dx_ref[i], 1e-3);
    free(col);
}

static void test_padded_conv_matches_definition(void **state)
{
    (void)state;
    check_padded_conv(5, 5, 1, 2);
    check_padded_conv(3, 3, 2, 2);
    check_padded_conv(1, 3, 2, 4);
    check_padded_conv(5, 2, 3, 5);
}

/* The fuzz input itself: lenet on 1x28x28 through a training step. */
static void test_lenet_28x28_trains(void **state)
{
    nn_optim_settings sgd = tu_sgd(0.01f, 0.9f, 0.0f);
    nn_optim *opt;
    nn_net *net = NULL;
    nn_rng rng;
    int labels[2] = {3, 7};
    float loss;
    (void)state;
    assert_nn_ok(nn_net_create(1, 28, 28, &net));
    assert_nn_ok(nn_net_add_spec(net, "lenet", NULL, 0));
    assert_nn_ok(nn_net_build(net, 2, 1));
    nn_rng_seed(&rng, 3);
    gc_fill_normal(nn_net_input(net)->x, 2 * 28 * 28, 1.0f, &rng);
    assert_nn_ok(nn_net_forward(net, 2));
    assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
    nn_net_zero_grad(net);
    assert_nn_ok(nn_net_backward(net));
    opt = tu_optim(net, &sgd);
    assert_nn_ok(nn_optim_step(opt, net));
    nn_optim_destroy(opt);
    assert_true(loss > 0.0f);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padded_conv_matches_definition),
        cmocka_unit_test(test_lenet_28x28_trains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
