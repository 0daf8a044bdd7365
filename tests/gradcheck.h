/* Finite-difference gradient checking for the tests.
 *
 * The scalar checked is L = sum(r * out) for a fixed random r, so every
 * output element matters. Each checked coordinate gets a central difference
 * (L(v+eps) - L(v-eps)) / 2eps compared with the analytic gradient by
 * |a - n| / max(1, |a|, |n|). A coordinate whose one-sided differences
 * disagree sits on a kink (relu at 0, a max-pool switch) and is skipped;
 * more than a tenth skipped counts as a failure. */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "nn.h"
#include "testutil.h"

typedef struct {
    double max_error;   /* largest relative error seen */
    double max_numeric; /* largest |numeric gradient|: guards vacuous passes */
    int checked;        /* coordinates compared */
    int skipped;        /* coordinates on a kink */
} gc_result;

/* Recomputes the scalar loss from the current values. */
typedef double (*gc_loss_fn)(void *ctx);

/* Compares analytic[i] with the central difference of loss() in values[i]
 * over up to max_points indices (all of them when n is small). */
gc_result gc_compare(gc_loss_fn loss, void *ctx, float *values,
                     const float *analytic, size_t n, int max_points,
                     nn_rng *rng, float eps);
/* The same for exactly the count coordinates listed in indices. */
gc_result gc_compare_at(gc_loss_fn loss, void *ctx, float *values,
                        const float *analytic, const size_t *indices,
                        int count, float eps);
/* Merges b into a. */
void gc_merge(gc_result *a, const gc_result *b);
/* 1 when the check passed: error below tol, not vacuous, few kinks. */
int gc_passed(const gc_result *r, double tol);

/* Checks the input gradient and every parameter gradient of a built net
 * whose input already holds `batch` samples. The loss is L = sum(r * out),
 * or the softmax cross-entropy of the output when labels is not NULL. */
gc_result gc_check_net(nn_net *net, int batch, uint64_t seed, int max_points,
                       float eps,
                       const int *labels);

/* gc_check_net (loss sum(r * out)) for the listed coordinates only: of the
 * input when layer is -1, else of layer `layer`'s parameters. */
gc_result gc_check_net_at(nn_net *net, int batch, uint64_t seed, int layer,
                          const size_t *indices, int count, float eps);

/* Fills n floats with distinct values at least 0.05 apart and from 0 (a
 * shuffled ramp), so that a step of 0.01 never changes a max-pool winner
 * or crosses relu's kink. */
void gc_fill_spaced(float *x, size_t n, nn_rng *rng);
/* Fills n floats with N(0, scale^2) values. */
void gc_fill_normal(float *x, size_t n, float scale, nn_rng *rng);

/* cmocka assertion on a status, printing its message on failure. */
#define assert_nn_ok(expr)                                                  \
    do {                                                                    \
        nn_status st_ = (expr);                                             \
        if (st_ != NN_OK)                                                   \
            fail_msg("%s: %s", #expr, nn_status_str(st_));                  \
    } while (0)

/* |a - b| <= tol, since cmocka 1.1.5 has no float assertion. */
#define assert_close(a, b, tol)                                             \
    do {                                                                    \
        double a_ = (a), b_ = (b);                                          \
        if (!(a_ - b_ <= (tol) && b_ - a_ <= (tol)))                        \
            fail_msg("%s = %.9g, expected %.9g (tol %g)", #a, a_, b_,       \
                     (double)(tol));                                        \
    } while (0)

#endif
