/* FMA limit of this machine (bench_peak.h). Each thread runs
 *     acc[j] = acc[j] * mul + inc    for j < 12, reps times
 * with 12 independent accumulators: enough to cover the FMA latency on
 * every port (4 cycles x 2 ports on current x86), few enough for AVX2's 16
 * registers. mul and inc keep the values near 1 (no overflow, no
 * denormals); the sum of the accumulators is returned so that no FMA is
 * dead code. */
#include "bench_peak.h"
#include "cli_time.h"

#include <pthread.h>

/* Independent accumulators per thread. */
#define PEAK_ACCS 12

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Defines `static float name(long reps)`: the loop for one vector type,
 * compiled for isa by a target attribute. */
#define PEAK_LOOP(name, isa, vec, set1, fmadd, add, first)                \
    __attribute__((target(isa))) static float name(long reps)             \
    {                                                                     \
        vec acc[PEAK_ACCS], mul = set1(0.999999f), inc = set1(1e-6f);     \
        for (int j = 0; j < PEAK_ACCS; j++)                               \
            acc[j] = set1((float)j);                                      \
        for (long r = 0; r < reps; r++)                                   \
            for (int j = 0; j < PEAK_ACCS; j++)                           \
                acc[j] = fmadd(acc[j], mul, inc);                         \
        for (int j = 1; j < PEAK_ACCS; j++)                               \
            acc[0] = add(acc[0], acc[j]);                                 \
        return first(acc[0]);                                             \
    }

PEAK_LOOP(fma_loop_256, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps,
          _mm256_add_ps, _mm256_cvtss_f32)
PEAK_LOOP(fma_loop_512, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps,
          _mm512_add_ps, _mm512_cvtss_f32)

/* The loop for isa when this CPU runs it, else NULL; *lanes: floats per
 * vector. */
static float (*loop_for(peak_isa isa, int *lanes))(long)
{
    __builtin_cpu_init();
    if (isa == PEAK_AVX2_FMA && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma")) {
        *lanes = 8;
        return fma_loop_256;
    }
    if (isa == PEAK_AVX512F && __builtin_cpu_supports("avx512f")) {
        *lanes = 16;
        return fma_loop_512;
    }
    return NULL;
}
#else
static float (*loop_for(peak_isa isa, int *lanes))(long)
{
    (void)isa;
    *lanes = 0;
    return NULL;
}
#endif

const char *peak_isa_name(peak_isa isa)
{
    return isa == PEAK_AVX2_FMA ? "avx2-fma" : "avx512f";
}

int peak_accumulators(void)
{
    return PEAK_ACCS;
}

/* What one thread of a timed run does. */
typedef struct {
    float (*loop)(long);
    long reps;
    volatile float sink; /* the loop's result, so it is kept */
} peak_worker;

static void *peak_thread(void *p)
{
    peak_worker *w = p;
    w->sink = w->loop(w->reps);
    return NULL;
}

/* Most threads of a timed run. */
#define PEAK_MAX_THREADS 64

/* Wall seconds of `threads` threads running loop(reps) at once (starting
 * one costs tens of microseconds, against runs of tenths of seconds);
 * negative when one cannot be started. */
static double timed_run(float (*loop)(long), long reps, int threads)
{
    peak_worker workers[PEAK_MAX_THREADS];
    pthread_t ids[PEAK_MAX_THREADS];
    int started = 0;
    double begin = cli_wall_seconds();
    if (threads > PEAK_MAX_THREADS)
        return -1.0;
    for (; started < threads; started++) {
        workers[started] = (peak_worker){loop, reps, 0.0f};
        if (pthread_create(&ids[started], NULL, peak_thread, &workers[started]))
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
    return started < threads ? -1.0 : cli_wall_seconds() - begin;
}

double peak_gflops(peak_isa isa, int threads, double seconds, int trials)
{
    int lanes;
    float (*loop)(long) = loop_for(isa, &lanes);
    long reps = 1 << 16;
    double best = 0.0, elapsed;
    if (!loop)
        return 0.0;
    /* reps for a trial of about seconds / trials on one thread */
    while ((elapsed = timed_run(loop, reps, 1)) >= 0 &&
           elapsed < seconds / trials / 2)
        reps *= 2;
    for (int t = 0; t < trials && elapsed >= 0; t++) {
        double rate;
        elapsed = timed_run(loop, reps, threads);
        rate = 2.0 * lanes * PEAK_ACCS * (double)reps * threads / elapsed;
        if (elapsed > 0 && rate > best)
            best = rate;
    }
    return elapsed < 0 ? -1.0 : best * 1e-9;
}
