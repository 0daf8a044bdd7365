/* nn_bench: speed of libnn's kernels, layers and whole models, one
 * machine-readable line per figure:
 *   sgemm m=512 n=512 k=512 ta=0 tb=0 path=auto gflops=85.3 case=square
 *   layer model=lenet index=0 spec=conv5x5x16p2 threads=1 forward_ms=0.41 ...
 *   model model=lenet threads=1 batch=64 train_ips=5123 infer_ips=17000
 *
 * Usage: nn_bench [--quick] [--only sgemm|layers|models] [--models LIST]
 *                 [--threads LIST]
 *   --quick    shorter timing runs (for smoke tests; figures are noisier)
 *   --only     one group of figures (default: all three)
 *   --models   presets for layer and model figures (mlp,lenet,deep)
 *   --threads  thread counts for them (1,2)
 *   --batch    images per step of layer and model figures (64, at most 64)
 *
 * Each figure is the best of several timed runs. Layer and model figures
 * use wall-clock time (they may run threads). sgemm figures are timed in
 * CPU time of the calling thread: on a machine shared with other work, time
 * spent waiting for the CPU does not count (the kernels are single-threaded,
 * so on an idle machine this is the wall time); they cover both paths of
 * nn_sgemm_for: auto (AVX2+FMA where the CPU has it) and portable. Only
 * the public API (nn.h) is used, and cli.h's number parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nn.h"

/* Timing settings shared by every benchmark. */
typedef struct {
    double seconds; /* time spent on one figure, roughly */
    int trials;     /* timed runs per figure; the fastest one counts */
    int batch;      /* layer and model figures: images per step (64) */
} bench_opts;

/* CPU time of the calling thread, in seconds. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ sgemm */


/* One product C (m, n) += op(A) (m, k) op(B) (k, n) and where it comes from. */
typedef struct {
    const char *name; /* "square", or layer and pass of a preset net */
    int trans_a, trans_b, m, n, k;
} sgemm_case;

/* Square products, then the products the preset nets run at batch 64
 * (NN_KERNELS_AUTO on an AVX2 CPU; lenet's convolutions are direct and run
 * no gemm). Dense, in pieces of 32 rows and of input columns:
 * y^T = W x^T (NT, m = out, n = 32), dW = dy^T x (TN, n = columns),
 * dx = dy W (NN, n = columns). deep's first conv by im2col:
 * y = W col (NN) and dW = dy col^T (NT). Winograd F(2x2, 3x3), per point of
 * the 4x4 domain, over a group of images' tiles (cols): M = U V (NN),
 * dU = dM V^T (NT), dV = U^T dM (TN). */
static const sgemm_case sgemm_cases[] = {
    {"square", 0, 0, 128, 128, 128},
    {"square", 0, 0, 256, 256, 256},
    {"square", 0, 0, 512, 512, 512},
    {"square", 0, 0, 1024, 1024, 1024},
    {"square", 0, 1, 512, 512, 512},
    {"square", 1, 0, 512, 512, 512},
    {"square", 1, 1, 512, 512, 512},
    {"mlp.dense784x100.fwd", 0, 1, 100, 32, 784},
    {"mlp.dense784x100.dw", 1, 0, 100, 196, 64},
    {"mlp.dense100x10.fwd", 0, 1, 10, 32, 100},
    {"mlp.dense100x10.dw", 1, 0, 10, 100, 64},
    {"mlp.dense100x10.dx", 0, 0, 64, 100, 10},
    {"lenet.dense784x10.fwd", 0, 1, 10, 32, 784},
    {"lenet.dense784x10.dw", 1, 0, 10, 196, 64},
    {"lenet.dense784x10.dx", 0, 0, 64, 196, 10},
    {"deep.conv1.fwd", 0, 0, 64, 676, 9},
    {"deep.conv1.dw", 0, 1, 64, 9, 676},
    {"deep.conv2.winograd.fwd", 0, 0, 64, 144, 64},
    {"deep.conv2.winograd.du", 0, 1, 64, 64, 144},
    {"deep.conv2.winograd.dv", 1, 0, 64, 144, 64},
    {"deep.conv3.winograd.fwd", 0, 0, 128, 150, 64},
    {"deep.conv3.winograd.du", 0, 1, 128, 64, 150},
    {"deep.conv3.winograd.dv", 1, 0, 64, 150, 128},
    {"deep.conv4.winograd.fwd", 0, 0, 128, 128, 128},
    {"deep.conv4.winograd.du", 0, 1, 128, 128, 128},
    {"deep.conv4.winograd.dv", 1, 0, 128, 128, 128},
    {"deep.dense2048x256.fwd", 0, 1, 256, 32, 2048},
    {"deep.dense2048x256.dw", 1, 0, 256, 256, 64},
    {"deep.dense2048x256.dx", 0, 0, 64, 256, 256},
    {"deep.dense256x10.fwd", 0, 1, 10, 32, 256},
    {"deep.dense256x10.dw", 1, 0, 10, 256, 64},
    {"deep.dense256x10.dx", 0, 0, 64, 256, 10},
};

static void fill_uniform(float *x, size_t count, nn_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        x[i] = nn_rng_uniform(rng) - 0.5f;
}

/* GFLOP/s of one path on one case (C = A B + C, 2mnk flops per call), or a
 * negative value when memory runs out. */
/* A named sgemm path. */
typedef struct {
    const char *name;
    nn_sgemm_fn run;
} sgemm_path;

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
    /* auto: AVX2+FMA where the CPU has it */
    const sgemm_path paths[2] = {{"auto", nn_sgemm_for(NN_KERNELS_AUTO)},
                                 {"portable", nn_sgemm_for(NN_KERNELS_PORTABLE)}};
    int path_count = paths[0].run == paths[1].run ? 1 : 2;
    nn_rng rng;

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

/* ---------------------------------------------------- layers and models */

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum { MAX_BATCH = 64 };

/* A net for spec on inputs (c, h, w), or of the one layer `layer`
 * describes when spec is NULL; batch 64, random input and labels. */
static nn_net *bench_net(const char *spec, const nn_layer_info *layer, int c,
                         int h, int w, int threads, int batch, int *labels,
                         nn_rng *rng)
{
    nn_net *net = NULL;
    nn_tensor *out;
    if (nn_net_create(c, h, w, &net) != NN_OK ||
        (spec ? nn_net_add_spec(net, spec, NULL, 0)
              : nn_net_add_layer(net, layer->kind, &layer->args)) != NN_OK ||
        nn_net_build(net, batch, 1) != NN_OK ||
        nn_net_set_threads(net, threads) != NN_OK) {
        nn_net_destroy(net);
        return NULL;
    }
    fill_uniform(nn_net_input(net)->x, (size_t)batch * c * h * w, rng);
    nn_net_forward(net, batch);
    out = nn_net_output(net);
    for (int i = 0; i < batch; i++)
        labels[i] = (int)nn_rng_below(rng, (uint32_t)(out->c * out->h * out->w));
    return net;
}

typedef enum { STEP_TRAIN, STEP_INFER, STEP_FORWARD, STEP_BACKWARD } step_kind;

/* One timed unit of work on a net built by bench_net (opt: for training). */
static void step(nn_net *net, nn_optim *opt, step_kind kind, const int *labels)
{
    float loss;
    switch (kind) {
    case STEP_TRAIN:
        nn_net_set_training(net, 1);
        nn_net_forward(net, nn_net_max_batch(net));
        nn_net_softmax_xent(net, labels, &loss);
        nn_net_zero_grad(net);
        nn_net_backward(net);
        nn_optim_step(opt, net);
        break;
    case STEP_INFER:
        nn_net_set_training(net, 0);
        nn_net_forward(net, nn_net_max_batch(net));
        break;
    case STEP_FORWARD:
        nn_net_forward(net, nn_net_max_batch(net));
        break;
    case STEP_BACKWARD:
        nn_net_backward(net);
        break;
    }
}

/* Best seconds per step over opts->trials runs of about opts->seconds. */
static double time_steps(nn_net *net, nn_optim *opt, step_kind kind,
                         const int *labels, const bench_opts *opts)
{
    double best = 1e30;
    int reps = 1;
    double start = wall_seconds();
    step(net, opt, kind, labels); /* warm up, and size the runs */
    double once = wall_seconds() - start;
    if (once > 0)
        reps = (int)(opts->seconds / once) + 1;
    for (int t = 0; t < opts->trials; t++) {
        start = wall_seconds();
        for (int r = 0; r < reps; r++)
            step(net, opt, kind, labels);
        double per = (wall_seconds() - start) / reps;
        if (per < best)
            best = per;
    }
    return best;
}

/* Multiply-adds of one sample through layer i: each weight once per output
 * position (conv and dense layers), 0 for layers without weights. */
static double layer_macs(const nn_net *net, int i)
{
    nn_layer_field fields[NN_MAX_FIELDS];
    nn_layer_info info;
    int count = 0;
    if (nn_net_layer_info(net, i, &info) != NN_OK ||
        nn_net_layer_fields(net, i, fields, &count) != NN_OK || count == 0 ||
        strcmp(fields[0].name, "weight"))
        return 0;
    return (double)fields[0].count * info.out_h * info.out_w;
}

/* Each layer of a preset alone: forward and backward at batch 64. */
static int bench_layers(const char *model, int threads, const bench_opts *opts,
                        nn_rng *rng)
{
    int labels[MAX_BATCH];
    nn_net *whole = bench_net(model, NULL, 1, 28, 28, 1, opts->batch, labels, rng);
    if (!whole)
        return 1;
    for (int i = 0; i < nn_net_layer_count(whole); i++) {
        nn_layer_info info;
        nn_net *one = NULL;
        char token[64] = "";
        double fwd, bwd, macs;
        if (nn_net_layer_info(whole, i, &info) != NN_OK ||
            !(one = bench_net(NULL, &info, info.in_c, info.in_h, info.in_w,
                              threads, opts->batch, labels, rng)) ||
            nn_net_spec(one, token, sizeof token) != NN_OK) {
            nn_net_destroy(one);
            nn_net_destroy(whole);
            return 1;
        }
        nn_net_set_input_grad(one, i > 0); /* the first layer needs no dx */
        fwd = time_steps(one, NULL, STEP_FORWARD, labels, opts);
        memset(nn_net_output(one)->g, 0, sizeof(float) * (size_t)opts->batch *
                                             info.out_c * info.out_h * info.out_w);
        bwd = time_steps(one, NULL, STEP_BACKWARD, labels, opts);
        macs = layer_macs(whole, i) * opts->batch;
        printf("layer model=%s index=%d spec=%s threads=%d forward_ms=%.3f "
               "backward_ms=%.3f forward_gflops=%.1f backward_gflops=%.1f\n",
               model, i, token, threads, 1e3 * fwd, 1e3 * bwd,
               2 * macs / fwd * 1e-9, (i > 0 ? 4 : 2) * macs / bwd * 1e-9);
        fflush(stdout);
        nn_net_destroy(one);
    }
    nn_net_destroy(whole);
    return 0;
}

/* A whole preset: training steps and inference, images per second. */
static int bench_model(const char *model, int threads, const bench_opts *opts,
                       nn_rng *rng)
{
    int labels[MAX_BATCH];
    nn_net *net = bench_net(model, NULL, 1, 28, 28, threads, opts->batch,
                            labels, rng);
    nn_optim_settings sgd = nn_optim_defaults(NN_OPTIMIZER_SGD);
    nn_optim *opt = NULL;
    double train, infer;
    sgd.momentum = 0.9f;
    sgd.weight_decay = 5e-4f;
    if (!net || nn_optim_create(net, &sgd, &opt) != NN_OK) {
        nn_net_destroy(net);
        return 1;
    }
    train = time_steps(net, opt, STEP_TRAIN, labels, opts);
    infer = time_steps(net, NULL, STEP_INFER, labels, opts);
    nn_optim_destroy(opt);
    printf("model model=%s threads=%d batch=%d train_ips=%.0f infer_ips=%.0f\n",
           model, threads, opts->batch, opts->batch / train,
           opts->batch / infer);
    fflush(stdout);
    nn_net_destroy(net);
    return 0;
}

/* Runs fn for every model and thread count in the comma-separated lists. */
static int for_each(const char *models, const char *threads,
                    int (*fn)(const char *, int, const bench_opts *, nn_rng *),
                    const bench_opts *opts)
{
    char mlist[256], tlist[64], *msave, *tsave;
    nn_rng rng;
    nn_rng_seed(&rng, 2);
    snprintf(mlist, sizeof mlist, "%s", models);
    for (char *m = strtok_r(mlist, ",", &msave); m; m = strtok_r(NULL, ",", &msave)) {
        snprintf(tlist, sizeof tlist, "%s", threads);
        for (char *t = strtok_r(tlist, ",", &tsave); t; t = strtok_r(NULL, ",", &tsave))
            if (fn(m, atoi(t), opts, &rng)) {
                fprintf(stderr, "nn_bench: cannot benchmark model %s with %s threads\n", m, t);
                return 1;
            }
    }
    return 0;
}

/* ------------------------------------------------------------------- main */

/* Checks a comma-separated list: non-empty items, and with numbers = 1
 * each a thread count; 0 after printing what is wrong. */
static int list_ok(const char *flag, const char *list, int numbers)
{
    char copy[256], *save, why[160];
    const char *problem = NULL;
    long count;
    size_t len = strlen(list);
    if (len == 0 || len >= sizeof copy || list[0] == ',' || list[len - 1] == ',' ||
        strstr(list, ",,"))
        problem = len >= sizeof copy ? "too long" : "an empty item";
    else if (numbers) {
        memcpy(copy, list, len + 1);
        for (char *t = strtok_r(copy, ",", &save); t && !problem;
             t = strtok_r(NULL, ",", &save))
            if (!cli_parse_long(t, 1, CLI_MAX_THREADS, &count, why, sizeof why)) {
                fprintf(stderr, "nn_bench: %s '%s': item '%s': %s\n", flag,
                        list, t, why);
                return 0;
            }
    }
    if (problem)
        fprintf(stderr, "nn_bench: %s '%s': %s; expected a comma-separated "
                        "list\n", flag, list, problem);
    return problem == NULL;
}

int main(int argc, char **argv)
{
    bench_opts opts = {0.5, 5, MAX_BATCH};
    const char *only = NULL, *models = "mlp,lenet,deep", *threads = "1,2";
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--quick") == 0) {
            opts.seconds = 0.05;
            opts.trials = 3;
            continue;
        }
        int known = !strcmp(argv[i], "--only") || !strcmp(argv[i], "--models") ||
                    !strcmp(argv[i], "--threads") || !strcmp(argv[i], "--batch");
        if (!known || !value) {
            fprintf(stderr, "nn_bench: %s '%s'\nusage: %s [--quick] [--only "
                            "sgemm|layers|models] [--models LIST] [--threads LIST] "
                            "[--batch N]\n",
                    known ? "a value is missing after" : "unknown option",
                    argv[i], argv[0]);
            return 2;
        }
        i++;
        if (!strcmp(argv[i - 1], "--only")) {
            only = value;
            if (strcmp(only, "sgemm") && strcmp(only, "layers") &&
                strcmp(only, "models")) {
                fprintf(stderr, "nn_bench: --only '%s': unknown; expected one "
                                "of sgemm, layers or models\n", only);
                return 2;
            }
        } else if (!strcmp(argv[i - 1], "--models")) {
            if (!list_ok("--models", models = value, 0))
                return 2;
        } else if (!strcmp(argv[i - 1], "--batch")) {
            char why[128];
            long batch;
            if (!cli_parse_long(value, 1, MAX_BATCH, &batch, why, sizeof why)) {
                fprintf(stderr, "nn_bench: --batch '%s': %s\n", value, why);
                return 2;
            }
            opts.batch = (int)batch;
        } else if (!list_ok("--threads", threads = value, 1))
            return 2;
    }
    if (!only || !strcmp(only, "sgemm"))
        rc |= bench_sgemm(&opts);
    if (!only || !strcmp(only, "layers"))
        rc |= for_each(models, threads, bench_layers, &opts);
    if (!only || !strcmp(only, "models"))
        rc |= for_each(models, threads, bench_model, &opts);
    return rc;
}
