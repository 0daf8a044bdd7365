/* Small helpers every subsystem may use: checked size arithmetic, a
 * fixed-order float sum, messages, a bit mixer, the clock, and what the
 * CPU can run. */
#ifndef NN_CORE_UTIL_H
#define NN_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* a * b into *out; 0 on overflow of size_t. */
int nn_mul_size(size_t a, size_t b, size_t *out);

/* x[0] + ... + x[n-1] in eight interleaved partial sums, added in a fixed
 * order: fast (vectorisable) and the same bits on every call. */
float nn_sum(const float *x, size_t n);

/* snprintf into msg when msg is not NULL and msg_size > 0. */
void nn_format_msg(char *msg, size_t msg_size, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* 2^64 / phi (the golden ratio), odd: steps of it visit every 64-bit value
 * before repeating, each far from the last (splitmix64's increment). */
#define NN_GOLDEN64 0x9e3779b97f4a7c15ULL

/* splitmix64's finaliser: a bijection of 64-bit values whose every output
 * bit depends on every input bit (src/core/rng.c). */
uint64_t nn_mix64(uint64_t z);

/* Nanoseconds of the monotonic clock, from an arbitrary start. */
int64_t nn_clock_ns(void);

/* 1 when this CPU (and OS) runs AVX2 and FMA; 0 on other architectures. */
int nn_cpu_has_avx2(void);
/* 1 when it also runs AVX-512F; 0 on other architectures. */
int nn_cpu_has_avx512(void);

/* Loops whose every value is computed alone, or summed in lanes the code
 * fixes, give the same bits with wider vectors: functions marked with this
 * are compiled for AVX-512 and AVX2 too and chosen when the program starts
 * (GCC's ifunc). Not under ThreadSanitizer, whose instrumented resolvers
 * would run before its runtime is up (every program crashed at start-up). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__)
#define NN_TARGET_CLONES \
    __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_TARGET_CLONES
#endif

#endif /* NN_CORE_UTIL_H */
