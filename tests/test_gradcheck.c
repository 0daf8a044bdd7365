/* The checker itself: it must catch a wrong gradient and must not pass a
 * vacuous one. */
#include "gradcheck.h"

#include <math.h>
#include <string.h>

enum { N = 12 };

typedef struct {
    float *x;
    float y[N];
    float r[N];
} sigmoid_ctx;

static double sigmoid_loss(void *p)
{
    sigmoid_ctx *c = p;
    double sum = 0;
    nn_sigmoid_forward(c->x, c->y, N);
    for (int i = 0; i < N; i++)
        sum += (double)c->r[i] * c->y[i];
    return sum;
}

/* A classic mistake: dx = dy * y, forgetting the (1 - y) factor. */
static void wrong_sigmoid_backward(const float *y, const float *dy, float *dx)
{
    for (int i = 0; i < N; i++)
        dx[i] += dy[i] * y[i];
}

/* x and r drawn from rng seeded with seed, a forward pass, and the right
 * dL/dx into grad (zeroed by the caller). */
static void sigmoid_setup(sigmoid_ctx *c, float *x, float *grad, nn_rng *rng,
                          uint64_t seed)
{
    nn_rng_seed(rng, seed);
    gc_fill_normal(x, N, 1.0f, rng);
    gc_fill_normal(c->r, N, 1.0f, rng);
    c->x = x;
    sigmoid_loss(c);
    nn_sigmoid_backward(c->y, c->r, grad, N);
}

static void test_wrong_gradient_is_caught(void **state)
{
    float x[N], right[N] = {0}, wrong[N] = {0};
    sigmoid_ctx c;
    nn_rng rng;
    gc_result good, bad;
    (void)state;
    sigmoid_setup(&c, x, right, &rng, 3);
    wrong_sigmoid_backward(c.y, c.r, wrong);
    good = gc_compare(sigmoid_loss, &c, x, right, N, N, &rng, 1e-2f);
    bad = gc_compare(sigmoid_loss, &c, x, wrong, N, N, &rng, 1e-2f);
    print_message("  right: %.2e, wrong: %.2e\n", good.max_error, bad.max_error);
    assert_true(gc_passed(&good, 1e-3));
    assert_false(gc_passed(&bad, 1e-3));
}

/* gc_compare_at checks exactly the listed coordinates: a gradient wrong at
 * one index passes a list without it and fails a list with it. */
static void test_listed_coordinates_are_checked(void **state)
{
    float x[N], g[N] = {0};
    size_t without[3] = {0, 4, 11}, with[2] = {4, 7};
    sigmoid_ctx c;
    nn_rng rng;
    gc_result r;
    (void)state;
    sigmoid_setup(&c, x, g, &rng, 4);
    g[7] += 0.05f;
    r = gc_compare_at(sigmoid_loss, &c, x, g, without, 3, 1e-2f);
    assert_int_equal(r.checked, 3);
    assert_true(gc_passed(&r, 1e-3));
    r = gc_compare_at(sigmoid_loss, &c, x, g, with, 2, 1e-2f);
    assert_int_equal(r.checked, 2);
    assert_false(gc_passed(&r, 1e-3));
}

typedef struct {
    float x[2 * 4], w[3 * 4], b[3], y[2 * 3], r[2 * 3];
} dense_ctx;

static double dense_loss(void *p)
{
    dense_ctx *c = p;
    double sum = 0;
    nn_dense_forward(c->x, c->w, c->b, c->y, 2, 4, 3);
    for (int i = 0; i < 6; i++)
        sum += (double)c->r[i] * c->y[i];
    return sum;
}

static void test_one_percent_error_is_caught(void **state)
{
    /* The right dW passes; the same with its largest entry 1% off fails. */
    dense_ctx c;
    float dw[12] = {0}, db[3] = {0}, corrupt[12];
    nn_rng rng;
    int largest = 0;
    gc_result good, bad;
    (void)state;
    nn_rng_seed(&rng, 6);
    gc_fill_normal(c.x, 8, 2.0f, &rng);
    gc_fill_normal(c.w, 12, 1.0f, &rng);
    gc_fill_normal(c.b, 3, 1.0f, &rng);
    gc_fill_normal(c.r, 6, 1.0f, &rng);
    nn_dense_backward(c.x, c.w, c.r, NULL, dw, db, 2, 4, 3);
    memcpy(corrupt, dw, sizeof dw);
    for (int i = 1; i < 12; i++)
        if (fabsf(dw[i]) > fabsf(dw[largest]))
            largest = i;
    corrupt[largest] *= 1.01f;
    good = gc_compare(dense_loss, &c, c.w, dw, 12, 12, &rng, 1e-2f);
    bad = gc_compare(dense_loss, &c, c.w, corrupt, 12, 12, &rng, 1e-2f);
    print_message("  right: %.2e, 1%% off: %.2e\n", good.max_error, bad.max_error);
    assert_true(gc_passed(&good, 1e-3));
    assert_false(gc_passed(&bad, 1e-3));
}

static double zero_loss(void *p)
{
    (void)p;
    return 0.0;
}

static void test_vacuous_check_fails(void **state)
{
    float x[N] = {0}, g[N] = {0};
    nn_rng rng;
    gc_result r;
    (void)state;
    nn_rng_seed(&rng, 1);
    r = gc_compare(zero_loss, NULL, x, g, N, N, &rng, 1e-2f);
    assert_int_equal(r.checked, N);
    assert_false(gc_passed(&r, 1e-3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_gradient_is_caught),
        cmocka_unit_test(test_one_percent_error_is_caught),
        cmocka_unit_test(test_vacuous_check_fails),
        cmocka_unit_test(test_listed_coordinates_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
