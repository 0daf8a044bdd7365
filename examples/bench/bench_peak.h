/* The machine's floating-point limit, measured for nn_bench: loops of
 * independent vector FMAs, chosen at run time by __builtin_cpu_supports
 * (no build flags), on one or several threads at once. */
#ifndef NN_EXAMPLES_BENCH_PEAK_H
#define NN_EXAMPLES_BENCH_PEAK_H

/* The vector widths measured. */
typedef enum {
    PEAK_AVX2_FMA, /* 256-bit FMA: what libnn's kernels run */
    PEAK_AVX512F   /* 512-bit FMA: for information */
} peak_isa;

/* Name of an isa in nn_bench's output: "avx2-fma", "avx512f". */
const char *peak_isa_name(peak_isa isa);
/* Independent accumulators of the loop: 12 (AVX2 has 16 registers, and 16
 * accumulators spill). */
int peak_accumulators(void);
/* GFLOP/s (2 per FMA lane) of `threads` threads running the loop at once,
 * best of `trials` runs of about `seconds` each; 0 when this CPU (or
 * compiler) lacks the isa, negative when threads cannot be started. */
double peak_gflops(peak_isa isa, int threads, double seconds, int trials);

#endif /* NN_EXAMPLES_BENCH_PEAK_H */
