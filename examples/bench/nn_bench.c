/* nn_bench: speed of libnn's kernels, layers and whole models, and the
 * machine's FMA limit they are measured against, one machine-readable line
 * per figure:
 *   peak isa=avx2-fma threads=1 accumulators=12 gflops=97.1
 *   sgemm m=512 n=512 k=512 ta=0 tb=0 path=auto gflops=85.3 case=square
 *   layer model=lenet index=0 spec=conv5x5x16p2 threads=1 forward_ms=0.41 ...
 *   (a layer reading outputs of several shapes, a concat: not timed)
 *   layer model=M index=7 kind=concat threads=1 skipped=inputs-of-different-shapes
 *   model model=lenet threads=1 batch=64 train_ips=5123 infer_ips=17000 ...
 *   trainer model=lenet threads=1 batch=64 bare_ips=8400 trainer_ips=8300 ...
 *   int8 model=lenet threads=1 batch=64 fp32_infer_ips=17000 int8_infer_ips=...
 *
 * Usage: nn_bench [--quick] [--only peak|sgemm|layers|models|trainer|int8]
 *                 [--models LIST] [--threads LIST] [--batch N]
 *   --quick    shorter timing runs (for smoke tests; figures are noisier)
 *   --only     one group of figures (default: all but trainer and int8)
 *   --models   presets for layer and model figures (mlp,lenet,deep); the
 *              CIFAR-10 presets (vgg, vgg-gap, resnet20) run on 3x32x32 inputs
 *   --threads  thread counts for them and for the limit (1,2)
 *   --batch    images per step of layer and model figures (64, at most 64)
 *
 * The limit (bench_peak.c) is a loop of independent 256-bit FMAs on that
 * many threads at once (and, for information, of 512-bit ones where the CPU
 * has AVX-512F); layer and model figures are followed by their utilisation:
 * the multiply-adds the net's kernels really execute (nn_net_layer_macs:
 * Winograd's gemms count 16 per 2x2 tile, not 36; transforms, element-wise
 * layers and the optimizer are not counted) per second over the AVX2+FMA
 * limit for that thread count (util), and the same work counted as direct
 * convolution would do it (direct_*_util: above 100% means the kernels beat
 * the limit by doing less arithmetic). On a CPU with AVX-512F the gemm runs
 * 512-bit FMAs, whose limit (wide_peak_gflops) is about twice as high;
 * wide_*_util set the same figures against it.
 *
 * int8 lines set the preset quantized (nn_quantize, calibrated on the
 * benchmark's random inputs) against its fp32 net built for inference
 * (nn_net_build_inference: folded batchnorm, kept Winograd weights), both on
 * the same number of threads (nn_net_set_threads, nn_qmodel_set_threads);
 * speedup is int8_infer_ips / fp32_infer_ips.
 *
 * trainer lines set nn_train_epoch against the bare loop of model lines
 * on one net, their timed runs taking turns: the epoch runs over generated
 * bytes in the preset's input shape (random crops of 4 and flips for the
 * CIFAR-10 presets, as cifar10_train), so its figure adds batch
 * conversion, augmentation, shuffling and bookkeeping; ratio is
 * trainer_ips / bare_ips.
 *
 * Each figure is the best of several timed runs. Layer and model figures
 * use wall-clock time (they may run threads), and so does the limit. sgemm
 * figures are timed in
 * CPU time of the calling thread: on a machine shared with other work, time
 * spent waiting for the CPU does not count (the kernels are single-threaded,
 * so on an idle machine this is the wall time); they cover both paths of
 * nn_sgemm_for: auto (AVX2+FMA where the CPU has it) and portable. Only
 * the public API (nn.h) is used, with cli_args.h's number parser and
 * cli_time.h's clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_peak.h"
#include "cli_args.h"
#include "cli_time.h"
#include "nn.h"
#include "nn/advanced.h"

/* Timing settings shared by every benchmark, and the measured limit. */
typedef struct {
    double seconds; /* time spent on one figure, roughly */
    int trials;     /* timed runs per figure; the fastest one counts */
    int batch;      /* layer and model figures: images per step (64) */
    double peak[CLI_MAX_THREADS + 1]; /* AVX2+FMA GFLOP/s by thread count,
                                         0 where not measured or no AVX2 */
    double wide_peak[CLI_MAX_THREADS + 1]; /* AVX-512F, 0 where not
                                              measured or no AVX-512F */
} bench_opts;

/* CPU time of the calling thread, in seconds. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------- peak */

/* The FMA limit for each thread count of the list, one line per figure:
 * AVX2+FMA (kept in opts->peak for utilisation), then AVX-512F. */
static int bench_peak(const char *threads, bench_opts *opts)
{
    char tlist[256], *save;
    snprintf(tlist, sizeof tlist, "%s", threads);
    for (char *t = strtok_r(tlist, ",", &save); t; t = strtok_r(NULL, ",", &save))
        for (int isa = PEAK_AVX2_FMA; isa <= PEAK_AVX512F; isa++) {
            int count = atoi(t);
            /* short runs, many: the best catches a moment with the core free */
            double rate = peak_gflops((peak_isa)isa, count, opts->seconds,
                                      4 * opts->trials);
            if (rate < 0) {
                fprintf(stderr, "nn_bench: cannot start %d threads\n", count);
                return 1;
            }
            if (isa == PEAK_AVX2_FMA)
                opts->peak[count] = rate;
            else if (rate > 0)
                opts->wide_peak[count] = rate;
            printf("peak isa=%s threads=%d accumulators=%d ",
                   peak_isa_name((peak_isa)isa), count, peak_accumulators());
            if (rate > 0)
                printf("gflops=%.1f\n", rate);
            else
                printf("gflops=n/a (not on this CPU)\n");
            fflush(stdout);
        }
    return 0;
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

enum { MAX_BATCH = 64 };

/* A net for spec on inputs (c, h, w), or of the one layer `layer`
 * describes when spec is NULL (reading the net's input as each of its
 * inputs: add and concat of inputs of one shape); random input and
 * labels. */
static nn_net *bench_net(const char *spec, const nn_layer_info *layer, int c,
                         int h, int w, int threads, int batch, int *labels,
                         nn_rng *rng)
{
    static const int net_input[NN_MAX_INPUTS] = {-1, -1, -1, -1, -1, -1, -1, -1};
    nn_net *net = NULL;
    nn_tensor *out;
    if (nn_net_create(c, h, w, &net) != NN_OK ||
        (spec ? nn_net_add_spec(net, spec, NULL, 0)
              : nn_net_add_layer_from(net, layer->kind, &layer->args,
                                      net_input, layer->inputs)) != NN_OK ||
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

typedef enum {
    STEP_TRAIN,
    STEP_INFER,
    STEP_FORWARD,
    STEP_BACKWARD,
    STEP_OPTIM
} step_kind;

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
    case STEP_OPTIM:
        nn_optim_step(opt, net);
        break;
    }
}

/* Best seconds per step over opts->trials runs of about opts->seconds. */
static double time_steps(nn_net *net, nn_optim *opt, step_kind kind,
                         const int *labels, const bench_opts *opts)
{
    double best = 1e30;
    int reps = 1;
    double start = cli_wall_seconds();
    step(net, opt, kind, labels); /* warm up, and size the runs */
    double once = cli_wall_seconds() - start;
    if (once > 0)
        reps = (int)(opts->seconds / once) + 1;
    for (int t = 0; t < opts->trials; t++) {
        start = cli_wall_seconds();
        for (int r = 0; r < reps; r++)
            step(net, opt, kind, labels);
        double per = (cli_wall_seconds() - start) / reps;
        if (per < best)
            best = per;
    }
    return best;
}

/* Input shape of a preset's data: CIFAR-10's (3x32x32) for the presets
 * made for it, MNIST's (1x28x28) for the others. */
static void model_input(const char *model, int shape[3])
{
    static const char *const cifar[] = {"vgg", "vgg-gap", "resnet20"};
    shape[0] = 1;
    shape[1] = shape[2] = 28;
    for (size_t i = 0; i < sizeof cifar / sizeof cifar[0]; i++)
        if (!strcmp(model, cifar[i])) {
            shape[0] = 3;
            shape[1] = shape[2] = 32;
        }
}

/* Multiply-adds per image of a whole net: forward (inference) and
 * forward + backward (a training step), as run and as direct convolution. */
typedef struct {
    double infer, train, direct_infer, direct_train;
} net_macs;

static net_macs count_macs(const nn_net *net)
{
    net_macs total = {0, 0, 0, 0};
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_macs m;
        if (nn_net_layer_macs(net, i, &m) != NN_OK)
            continue;
        total.infer += (double)m.forward;
        total.train += (double)(m.forward + m.backward);
        total.direct_infer += (double)m.direct_forward;
        total.direct_train += (double)(m.direct_forward + m.direct_backward);
    }
    return total;
}

/* GFLOP/s of `macs` multiply-adds in `seconds`. */
static double gflops(double macs, double seconds)
{
    return 2.0 * macs / seconds * 1e-9;
}

/* "48.6%": rate over the measured limit, or "n/a" without one. */
static const char *utilisation(double rate, double peak, char *buf, size_t size)
{
    if (peak > 0)
        snprintf(buf, size, "%.1f%%", 100.0 * rate / peak);
    else
        snprintf(buf, size, "n/a");
    return buf;
}

/* One layer alone, as a net of that layer on its input shape (no input
 * gradient for the first layer); forward and backward at opts->batch. */
static int bench_one_layer(const char *model, int index,
                           const nn_layer_info *info, int threads,
                           const bench_opts *opts, nn_rng *rng)
{
    int labels[MAX_BATCH];
    char token[64] = "", fu[16], bu[16], dfu[16], dbu[16];
    nn_layer_macs m;
    double fwd, bwd, peak = opts->peak[threads];
    nn_net *one = bench_net(NULL, info, info->in_c, info->in_h, info->in_w,
                            threads, opts->batch, labels, rng);
    if (!one || nn_net_spec(one, token, sizeof token) != NN_OK) {
        nn_net_destroy(one);
        return 1;
    }
    nn_net_set_input_grad(one, index > 0);
    nn_net_layer_macs(one, 0, &m);
    fwd = time_steps(one, NULL, STEP_FORWARD, labels, opts) / opts->batch;
    memset(nn_net_output(one)->g, 0, sizeof(float) * (size_t)opts->batch *
                                         info->out_c * info->out_h * info->out_w);
    bwd = time_steps(one, NULL, STEP_BACKWARD, labels, opts) / opts->batch;
    printf("layer model=%s index=%d spec=%s threads=%d forward_ms=%.3f "
           "backward_ms=%.3f forward_gflops=%.1f backward_gflops=%.1f "
           "direct_forward_gflops=%.1f direct_backward_gflops=%.1f "
           "forward_util=%s backward_util=%s direct_forward_util=%s "
           "direct_backward_util=%s\n",
           model, index, token, threads, 1e3 * fwd * opts->batch,
           1e3 * bwd * opts->batch, gflops((double)m.forward, fwd),
           gflops((double)m.backward, bwd), gflops((double)m.direct_forward, fwd),
           gflops((double)m.direct_backward, bwd),
           utilisation(gflops((double)m.forward, fwd), peak, fu, sizeof fu),
           utilisation(gflops((double)m.backward, bwd), peak, bu, sizeof bu),
           utilisation(gflops((double)m.direct_forward, fwd), peak, dfu,
                       sizeof dfu),
           utilisation(gflops((double)m.direct_backward, bwd), peak, dbu,
                       sizeof dbu));
    fflush(stdout);
    nn_net_destroy(one);
    return 0;
}

/* 1 when every output layer `info` reads has the shape of its first
 * (always for one input), so that one net input can stand for them all. */
static int inputs_alike(const nn_net *net, const nn_layer_info *info)
{
    for (int k = 1; k < info->inputs; k++) {
        int c, h, w;
        nn_layer_info from;
        if (info->from[k] < 0)
            nn_net_input_shape(net, &c, &h, &w);
        else if (nn_net_layer_info(net, info->from[k], &from) == NN_OK) {
            c = from.out_c;
            h = from.out_h;
            w = from.out_w;
        } else
            return 0;
        if (c != info->in_c || h != info->in_h || w != info->in_w)
            return 0;
    }
    return 1;
}

/* Each layer of a preset alone: forward and backward; a layer reading
 * outputs of several shapes (a concat) is listed as not timed. */
static int bench_layers(const char *model, int threads, const bench_opts *opts,
                        nn_rng *rng)
{
    int labels[MAX_BATCH], in[3], rc = 0;
    nn_net *whole;
    model_input(model, in);
    whole = bench_net(model, NULL, in[0], in[1], in[2], 1, opts->batch, labels, rng);
    if (!whole)
        return 1;
    for (int i = 0; i < nn_net_layer_count(whole) && !rc; i++) {
        nn_layer_info info;
        rc = nn_net_layer_info(whole, i, &info) != NN_OK;
        if (rc)
            break;
        if (!inputs_alike(whole, &info))
            printf("layer model=%s index=%d kind=%s threads=%d "
                   "skipped=inputs-of-different-shapes\n", model, i, info.kind,
                   threads);
        else
            rc = bench_one_layer(model, i, &info, threads, opts, rng);
    }
    nn_net_destroy(whole);
    return rc;
}

/* A net built for inference (as nn_model_load_inference builds one) with
 * net's spec, weights, statistics and input; NULL on failure. */
static nn_net *inference_copy(nn_net *net, int threads)
{
    char spec[4096];
    int c, h, w, batch = nn_net_max_batch(net);
    nn_net *copy = NULL;
    nn_net_input_shape(net, &c, &h, &w);
    if (nn_net_spec(net, spec, sizeof spec) != NN_OK ||
        nn_net_create(c, h, w, &copy) != NN_OK ||
        nn_net_add_spec(copy, spec, NULL, 0) != NN_OK ||
        nn_net_build_inference(copy, batch, 1) != NN_OK ||
        nn_net_set_threads(copy, threads) != NN_OK) {
        nn_net_destroy(copy);
        return NULL;
    }
    memcpy(nn_net_params(copy), nn_net_params(net),
           nn_net_param_count(net) * sizeof(float));
    memcpy(nn_net_state(copy), nn_net_state(net),
           nn_net_state_count(net) * sizeof(float));
    memcpy(nn_net_input(copy)->x, nn_net_input(net)->x,
           nn_tensor_count(nn_net_input(net)) * sizeof(float));
    return copy;
}

/* A whole preset: training steps and inference (a net built for it, as a
 * model loaded for inference is), images per second, and
 * the multiply-adds per image behind them over the limit; then the
 * optimizer's step alone (after the others: it keeps moving the weights). */
static int bench_model(const char *model, int threads, const bench_opts *opts,
                       nn_rng *rng)
{
    int labels[MAX_BATCH], in[3];
    nn_net *net, *infer_net;
    nn_optim_settings sgd = nn_optim_defaults(NN_OPTIM_SGD);
    nn_optim *opt = NULL;
    double train, infer, update, peak = opts->peak[threads];
    double wide = opts->wide_peak[threads];
    char tu[16], iu[16], dtu[16], diu[16], wtu[16], wdtu[16];
    net_macs macs;
    model_input(model, in);
    net = bench_net(model, NULL, in[0], in[1], in[2], threads, opts->batch,
                    labels, rng);
    sgd.momentum = 0.9f;
    sgd.weight_decay = 5e-4f;
    if (!net || nn_optim_create(net, &sgd, &opt) != NN_OK) {
        nn_net_destroy(net);
        return 1;
    }
    macs = count_macs(net);
    train = time_steps(net, opt, STEP_TRAIN, labels, opts) / opts->batch;
    infer_net = inference_copy(net, threads);
    if (!infer_net) {
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        return 1;
    }
    infer = time_steps(infer_net, NULL, STEP_INFER, labels, opts) / opts->batch;
    nn_net_destroy(infer_net);
    update = time_steps(net, opt, STEP_OPTIM, labels, opts);
    nn_optim_destroy(opt);
    printf("model model=%s threads=%d batch=%d train_ips=%.0f infer_ips=%.0f "
           "train_mmacs=%.2f infer_mmacs=%.2f train_gflops=%.1f "
           "infer_gflops=%.1f peak_gflops=%.1f train_util=%s infer_util=%s "
           "direct_train_mmacs=%.2f direct_infer_mmacs=%.2f "
           "direct_train_util=%s direct_infer_util=%s wide_peak_gflops=%.1f "
           "wide_train_util=%s wide_direct_train_util=%s optim_us=%.1f\n",
           model, threads, opts->batch, 1 / train, 1 / infer,
           macs.train * 1e-6, macs.infer * 1e-6, gflops(macs.train, train),
           gflops(macs.infer, infer), peak,
           utilisation(gflops(macs.train, train), peak, tu, sizeof tu),
           utilisation(gflops(macs.infer, infer), peak, iu, sizeof iu),
           macs.direct_train * 1e-6, macs.direct_infer * 1e-6,
           utilisation(gflops(macs.direct_train, train), peak, dtu, sizeof dtu),
           utilisation(gflops(macs.direct_infer, infer), peak, diu, sizeof diu),
           wide, utilisation(gflops(macs.train, train), wide, wtu, sizeof wtu),
           utilisation(gflops(macs.direct_train, train), wide, wdtu,
                       sizeof wdtu),
           update * 1e6);
    fflush(stdout);
    nn_net_destroy(net);
    return 0;
}

/* One timed batch of the int8 model. */
static double time_int8(nn_qmodel *q, const float *x, int batch,
                        const bench_opts *opts, float *probs)
{
    double best = 1e30, start = cli_wall_seconds(), once;
    int reps = 1;
    nn_qmodel_predict(q, x, batch, probs);
    once = cli_wall_seconds() - start;
    if (once > 0)
        reps = (int)(opts->seconds / once) + 1;
    for (int t = 0; t < opts->trials; t++) {
        start = cli_wall_seconds();
        for (int r = 0; r < reps; r++)
            nn_qmodel_predict(q, x, batch, probs);
        double per = (cli_wall_seconds() - start) / reps;
        best = per < best ? per : best;
    }
    return best;
}

/* A preset in fp32 and int8 inference, both on `threads` threads. */
static int bench_int8(const char *model, int threads, const bench_opts *opts,
                      nn_rng *rng)
{
    int labels[MAX_BATCH], in[3];
    nn_net *net, *infer_net;
    nn_qmodel *q = NULL;
    nn_quant_options qo = nn_quant_defaults();
    float *probs;
    double fp32, int8;
    char msg[256];
    model_input(model, in);
    net = bench_net(model, NULL, in[0], in[1], in[2], 1, opts->batch, labels,
                    rng);
    qo.max_batch = opts->batch;
    if (!net || nn_quantize(net, nn_net_input(net)->x, opts->batch, &qo, &q,
                            msg, sizeof msg) != NN_OK ||
        nn_qmodel_set_threads(q, threads) != NN_OK ||
        !(probs = malloc(sizeof *probs * MAX_BATCH * 4096))) {
        if (net && !q)
            fprintf(stderr, "nn_bench: %s: %s\n", model, msg);
        nn_qmodel_free(q);
        nn_net_destroy(net);
        return 1;
    }
    infer_net = inference_copy(net, threads); /* fp32 at its fastest */
    if (!infer_net) {
        free(probs);
        nn_qmodel_free(q);
        nn_net_destroy(net);
        return 1;
    }
    fp32 = time_steps(infer_net, NULL, STEP_INFER, labels, opts) / opts->batch;
    nn_net_destroy(infer_net);
    int8 = time_int8(q, nn_net_input(net)->x, opts->batch, opts, probs) /
           opts->batch;
    printf("int8 model=%s threads=%d batch=%d fp32_infer_ips=%.0f "
           "int8_infer_ips=%.0f speedup=%.2f\n", model, threads, opts->batch,
           1 / fp32, 1 / int8, fp32 / int8);
    fflush(stdout);
    free(probs);
    nn_qmodel_free(q);
    nn_net_destroy(net);
    return 0;
}

/* Bytes in the shape of the net's input and labels of its classes, as
 * many as `count` samples; normalised. */
static int bench_dataset(nn_net *net, int count, nn_rng *rng, nn_dataset *d)
{
    nn_tensor *out = nn_net_output(net);
    size_t size;
    memset(d, 0, sizeof *d);
    nn_net_input_shape(net, &d->c, &d->h, &d->w);
    d->count = count;
    d->classes = out->c * out->h * out->w;
    size = (size_t)count * d->c * d->h * d->w;
    d->pixels = malloc(size);
    d->labels = malloc((size_t)count);
    if (!d->pixels || !d->labels) {
        nn_dataset_free(d);
        return 0;
    }
    for (size_t i = 0; i < size; i++)
        d->pixels[i] = (uint8_t)nn_rng_below(rng, 256);
    for (int i = 0; i < count; i++)
        d->labels[i] = (uint8_t)nn_rng_below(rng, (uint32_t)d->classes);
    nn_dataset_normalize(d);
    return 1;
}

/* A preset through nn_train_epoch and through the bare loop (step's
 * STEP_TRAIN) on one net: each timed run of `steps` steps, the two kinds
 * taking turns, the best of opts->trials of each. */
static int bench_trainer(const char *model, int threads,
                         const bench_opts *opts, nn_rng *rng)
{
    int labels[MAX_BATCH], in[3], steps;
    nn_net *net;
    nn_optim *opt = NULL;
    nn_dataset data;
    nn_train_config cfg = nn_train_defaults();
    nn_epoch_stats stats;
    nn_rng order;
    double bare = 1e30, trainer = 1e30, start, once;
    model_input(model, in);
    net = bench_net(model, NULL, in[0], in[1], in[2], threads, opts->batch,
                    labels, rng);
    cfg.batch = opts->batch;
    cfg.epochs = cfg.schedule.total_epochs = opts->trials;
    cfg.schedule.kind = NN_SCHEDULE_CONSTANT;
    cfg.schedule.lr = 0.01f; /* random labels: a rate that stays finite */
    cfg.augment_crop = in[0] == 3 ? 4 : 0;
    cfg.augment_flip = in[0] == 3;
    if (!net || nn_optim_create(net, &cfg.optim, &opt) != NN_OK) {
        nn_net_destroy(net);
        return 1;
    }
    start = cli_wall_seconds();
    step(net, opt, STEP_TRAIN, labels); /* warm up, and size the runs */
    once = cli_wall_seconds() - start;
    steps = once > 0 ? (int)(opts->seconds / once) + 2 : 2;
    if (!bench_dataset(net, steps * opts->batch, rng, &data)) {
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        return 1;
    }
    nn_rng_seed(&order, 3);
    for (int t = 0; t < opts->trials; t++) {
        start = cli_wall_seconds();
        for (int r = 0; r < steps; r++)
            step(net, opt, STEP_TRAIN, labels);
        double took = cli_wall_seconds() - start;
        if (took < bare)
            bare = took;
        start = cli_wall_seconds();
        if (nn_train_epoch(net, opt, &data, &cfg, t, &order, &stats) != NN_OK)
            break;
        took = cli_wall_seconds() - start;
        if (took < trainer)
            trainer = took;
    }
    nn_dataset_free(&data);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    if (trainer >= 1e30)
        return 1;
    printf("trainer model=%s threads=%d batch=%d bare_ips=%.0f trainer_ips=%.0f "
           "ratio=%.3f augment=%s steps=%d\n",
           model, threads, opts->batch, steps * opts->batch / bare,
           steps * opts->batch / trainer, bare / trainer,
           in[0] == 3 ? "crop4+flip" : "none", steps);
    fflush(stdout);
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
    bench_opts opts = {0.5, 5, MAX_BATCH, {0}, {0}};
    const char *only = NULL, *models = "mlp,lenet,deep", *threads = "1,2";
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--version") == 0) {
            cli_print_version("nn_bench");
            return 0;
        }
        if (strcmp(argv[i], "--quick") == 0) {
            opts.seconds = 0.05;
            opts.trials = 3;
            continue;
        }
        int known = !strcmp(argv[i], "--only") || !strcmp(argv[i], "--models") ||
                    !strcmp(argv[i], "--threads") || !strcmp(argv[i], "--batch");
        if (!known || !value) {
            fprintf(stderr, "nn_bench: %s '%s'\nusage: %s [--quick] [--only "
                            "peak|sgemm|layers|models|trainer|int8] [--models LIST] [--threads "
                            "LIST] [--batch N]\n",
                    known ? "a value is missing after" : "unknown option",
                    argv[i], argv[0]);
            return 2;
        }
        i++;
        if (!strcmp(argv[i - 1], "--only")) {
            only = value;
            if (strcmp(only, "peak") && strcmp(only, "sgemm") &&
                strcmp(only, "layers") && strcmp(only, "models") &&
                strcmp(only, "trainer") && strcmp(only, "int8")) {
                fprintf(stderr, "nn_bench: --only '%s': unknown; expected one "
                                "of peak, sgemm, layers, models, trainer or "
                                "int8\n",
                        only);
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
    if (!only || (strcmp(only, "sgemm") && strcmp(only, "trainer") &&
                  strcmp(only, "int8")))
        rc |= bench_peak(threads, &opts);
    if (!only || !strcmp(only, "sgemm"))
        rc |= bench_sgemm(&opts);
    if (!only || !strcmp(only, "layers"))
        rc |= for_each(models, threads, bench_layers, &opts);
    if (!only || !strcmp(only, "models"))
        rc |= for_each(models, threads, bench_model, &opts);
    if (only && !strcmp(only, "trainer"))
        rc |= for_each(models, threads, bench_trainer, &opts);
    if (only && !strcmp(only, "int8"))
        rc |= for_each(models, threads, bench_int8, &opts);
    return rc;
}
