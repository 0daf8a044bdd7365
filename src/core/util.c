/* Small helpers every subsystem may use (src/core/util.h), and the public
 * tensor count. */
#include "core/util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "nn.h"

int nn_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

size_t nn_tensor_count(const nn_tensor *t)
{
    size_t count = 1;
    if (!t || t->n < 0 || t->c < 0 || t->h < 0 || t->w < 0)
        return 0;
    if (!nn_mul_size(count, (size_t)t->n, &count) ||
        !nn_mul_size(count, (size_t)t->c, &count) ||
        !nn_mul_size(count, (size_t)t->h, &count) ||
        !nn_mul_size(count, (size_t)t->w, &count))
        return 0;
    return count;
}

/* lane[i % 8] += x[i], then ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)) */
float nn_sum(const float *x, size_t n)
{
    float lane[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            lane[j] += x[i + j];
    for (; i < n; i++)
        lane[i % 8] += x[i];
    return ((lane[0] + lane[4]) + (lane[1] + lane[5])) +
           ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

void nn_format_msg(char *msg, size_t msg_size, const char *format, ...)
{
    va_list args;
    if (!msg || msg_size == 0)
        return;
    va_start(args, format);
    vsnprintf(msg, msg_size, format, args);
    va_end(args);
}

int nn_cpu_has_avx2(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init(); /* idempotent; needed when called from a constructor */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int nn_cpu_has_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return nn_cpu_has_avx2() && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

int64_t nn_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
