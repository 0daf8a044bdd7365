/* nn_bench: speed of libnn's kernels, one machine-readable line per figure:
 *   sgemm m=512 n=512 k=512 ta=0 tb=0 path=avx2 gflops=85.3 case=square
 *
 * Usage: nn_bench [--quick]
 *   --quick  shorter timing runs (for smoke tests; figures are noisier)
 *
 * Each figure is the best of several timed runs, timed in CPU time of the
 * calling thread: on a machine shared with other work, time spent waiting
 * for the CPU does not count (the kernels are single-threaded, so on an
 * idle machine this is the wall time). Uses libnn's internal header to
 * time every sgemm path, not just the one nn_sgemm picks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn.h"
#include "../src/internal.h"

/* Timing settings shared by every benchmark. */
typedef struct {
    double seconds; /* time spent on one figure, roughly */
    int trials;     /* timed runs per figure; the fastest one counts */
} bench_opts;

/* CPU time of the calling thread, in seconds. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ sgemm */

typedef void (*sgemm_fn)(int trans_a, int trans_b, int m, int n, int k,
                         float alpha, const float *a, int lda, const float *b,
                         int ldb, float beta, float *c, int ldc);

typedef struct {
    const char *name;
    sgemm_fn run;
} sgemm_path;

/* One product C (m, n) += op(A) (m, k) op(B) (k, n) and where it comes from. */
typedef struct {
    const char *name; /* "square", or layer and pass of a preset net */
    int trans_a, trans_b, m, n, k;
} sgemm_case;

/* Square products, then the products of the preset nets at batch 64:
 * dense y = x W^T (NT), dW = dy^T x (TN), dx = dy W (NN); conv by im2col
 * y = W col (NN, m = out_c, n = out_h*out_w, k = in_c*kh*kw),
 * dW = dy col^T (NT) and dcol = W^T dy (TN). */
static const sgemm_case sgemm_cases[] = {
    {"square", 0, 0, 128, 128, 128},
    {"square", 0, 0, 256, 256, 256},
    {"square", 0, 0, 512, 512, 512},
    {"square", 0, 0, 1024, 1024, 1024},
    {"square", 0, 1, 512, 512, 512},
    {"square", 1, 0, 512, 512, 512},
    {"square", 1, 1, 512, 512, 512},
    {"mlp.dense784x100.fwd", 0, 1, 64, 100, 784},
    {"mlp.dense784x100.dw", 1, 0, 100, 784, 64},
    {"mlp.dense100x10.fwd", 0, 1, 64, 10, 100},
    {"mlp.dense100x10.dw", 1, 0, 10, 100, 64},
    {"mlp.dense100x10.dx", 0, 0, 64, 100, 10},
    {"deep.dense2048x256.fwd", 0, 1, 64, 256, 2048},
    {"deep.dense2048x256.dw", 1, 0, 256, 2048, 64},
    {"deep.dense256x10.fwd", 0, 1, 64, 10, 256},
    {"deep.dense256x10.dx", 0, 0, 64, 256, 10},
    {"lenet.conv1.fwd", 0, 0, 16, 784, 25},
    {"lenet.conv1.dw", 0, 1, 16, 25, 784},
    {"lenet.conv2.fwd", 0, 0, 16, 196, 400},
    {"lenet.conv2.dw", 0, 1, 16, 400, 196},
    {"lenet.conv2.dcol", 1, 0, 400, 196, 16},
    {"deep.conv1.fwd", 0, 0, 64, 900, 27},
    {"deep.conv2.fwd", 0, 0, 64, 784, 576},
    {"deep.conv2.dw", 0, 1, 64, 576, 784},
    {"deep.conv2.dcol", 1, 0, 576, 784, 64},
    {"deep.conv3.fwd", 0, 0, 128, 144, 576},
    {"deep.conv3.dw", 0, 1, 128, 576, 144},
    {"deep.conv3.dcol", 1, 0, 576, 144, 128},
    {"deep.conv4.fwd", 0, 0, 128, 100, 1152},
    {"deep.conv4.dw", 0, 1, 128, 1152, 100},
    {"deep.conv4.dcol", 1, 0, 1152, 100, 128},
};

static void fill_uniform(float *x, size_t count, nn_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        x[i] = nn_rng_uniform(rng) - 0.5f;
}

/* GFLOP/s of one path on one case (C = A B + C, 2mnk flops per call), or a
 * negative value when memory runs out. */
static double bench_sgemm_case(const sgemm_path *path, const sgemm_case *sc,
                               const bench_opts *opts, nn_rng *rng)
{
    /* Stored shapes: A (m, k) or (k, m) when transposed; B likewise. */
    int lda = sc->trans_a ? sc->m : sc->k, ldb = sc->trans_b ? sc->k : sc->n;
    size_t a_count = (size_t)sc->m * sc->k, b_count = (size_t)sc->k * sc->n;
    size_t c_count = (size_t)sc->m * sc->n;
    float *a = malloc(a_count * sizeof *a), *b = malloc(b_count * sizeof *b);
    float *c = malloc(c_count * sizeof *c);
    double flops = 2.0 * sc->m * sc->n * sc->k, best = 1e30;
    long calls = 1;

    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return -1.0;
    }
    fill_uniform(a, a_count, rng);
    fill_uniform(b, b_count, rng);
    fill_uniform(c, c_count, rng);
    /* Warm up, and find how many calls fill one trial. */
    for (;;) {
        double start = cpu_seconds(), elapsed;
        for (long i = 0; i < calls; i++)
            path->run(sc->trans_a, sc->trans_b, sc->m, sc->n, sc->k, 1.0f, a,
                      lda, b, ldb, 1.0f, c, sc->n);
        elapsed = cpu_seconds() - start;
        if (elapsed >= opts->seconds / opts->trials / 2)
            break;
        calls *= 2;
    }
    for (int t = 0; t < opts->trials; t++) {
        double start = cpu_seconds(), elapsed;
        for (long i = 0; i < calls; i++)
            path->run(sc->trans_a, sc->trans_b, sc->m, sc->n, sc->k, 1.0f, a,
                      lda, b, ldb, 1.0f, c, sc->n);
        elapsed = (cpu_seconds() - start) / (double)calls;
        if (elapsed < best)
            best = elapsed;
    }
    free(a), free(b), free(c);
    return flops / best * 1e-9;
}

/* Every case on every sgemm path this CPU runs. */
static int bench_sgemm(const bench_opts *opts)
{
    sgemm_path paths[2];
    int path_count = 0;
    nn_rng rng;

#if defined(__x86_64__)
    if (nn_gemm_has_avx2())
        paths[path_count++] = (sgemm_path){"avx2", nn_sgemm_avx2};
#endif
    paths[path_count++] = (sgemm_path){"portable", nn_sgemm_portable};
    nn_rng_seed(&rng, 1);
    for (size_t i = 0; i < sizeof sgemm_cases / sizeof sgemm_cases[0]; i++) {
        const sgemm_case *sc = &sgemm_cases[i];
        for (int p = 0; p < path_count; p++) {
            double gflops = bench_sgemm_case(&paths[p], sc, opts, &rng);
            if (gflops < 0) {
                fprintf(stderr, "nn_bench: out of memory\n");
                return 1;
            }
            printf("sgemm m=%d n=%d k=%d ta=%d tb=%d path=%s gflops=%.1f "
                   "case=%s\n",
                   sc->m, sc->n, sc->k, sc->trans_a, sc->trans_b,
                   paths[p].name, gflops, sc->name);
            fflush(stdout);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    bench_opts opts = {0.5, 5};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            opts.seconds = 0.05;
            opts.trials = 3;
        } else {
            fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }
    return bench_sgemm(&opts);
}
