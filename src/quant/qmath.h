/* The integer arithmetic of int8 models (the formulas of qmodel.h), shared
 * by the kernels, the quantizer and the tests. */
#ifndef NN_QUANT_QMATH_H
#define NN_QUANT_QMATH_H

#include <math.h>
#include <stdint.h>

#include "quant/qmodel.h"

/* Saturating rounding doubling high multiply: a b / 2^31 rounded to
 * nearest, ties towards +infinity (the nudge of a negative product is
 * 1 - 2^30, then C's division truncates): gemmlowp's
 * SaturatingRoundingDoublingHighMul. */
static inline int32_t nn_q_srdhm(int32_t a, int32_t b)
{
    int64_t p = (int64_t)a * b;
    int64_t nudge = p >= 0 ? (INT64_C(1) << 30) : 1 - (INT64_C(1) << 30);
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    return (int32_t)((p + nudge) / (INT64_C(1) << 31));
}

/* x / 2^e rounded to nearest, ties away from zero (gemmlowp's
 * RoundingDivideByPOT), e in [0, 31]. */
static inline int32_t nn_q_rdivpot(int32_t x, int e)
{
    int32_t mask = (int32_t)((INT64_C(1) << e) - 1);
    int32_t rem = x & mask;
    int32_t thr = (mask >> 1) + (x < 0 ? 1 : 0);
    /* >> of a negative int32 is arithmetic with GCC and Clang */
    return (x >> e) + (rem > thr ? 1 : 0);
}

/* requant(x, M, shift) ~= x * M 2^-31 2^-shift (qmodel.h). */
static inline int32_t nn_q_requant(int32_t x, nn_qmul m)
{
    if (m.shift < 0) {
        int64_t v = (int64_t)x * (INT64_C(1) << -m.shift);
        x = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
    }
    x = nn_q_srdhm(x, m.mult);
    return m.shift > 0 ? nn_q_rdivpot(x, m.shift) : x;
}

/* v clamped to [lo, hi]. */
static inline int32_t nn_q_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* One input value: clamp(zero + roundf(x / scale), 0, 255), NaN to zero
 * (roundf: ties away from zero). */
static inline uint8_t nn_q_quantize_one(float x, float scale, int32_t zero)
{
    float v = roundf(x / scale);
    if (v != v)
        return (uint8_t)zero;
    if (v >= 512.0f)
        return 255;
    if (v <= -512.0f)
        return 0;
    return (uint8_t)nn_q_clamp(zero + (int32_t)v, 0, 255);
}

/* (M, shift) of a real multiplier m > 0 (qmodel.h); NN_EINVAL when m is
 * not finite, not > 0, or too large (shift < -31). */
nn_status nn_qmul_from_real(double m, nn_qmul *out);
/* The real multiplier (M, shift) stands for. */
double nn_qmul_to_real(nn_qmul m);
/* 1 when (M, shift) is in range (M in [2^30, 2^31 - 1], |shift| <= 31). */
int nn_qmul_valid(nn_qmul m);
/* s / n rounded to nearest, ties away from zero (n > 0). */
static inline int32_t nn_q_div_round(int32_t s, int32_t n)
{
    return (s >= 0 ? s + n / 2 : s - n / 2) / n;
}

#endif /* NN_QUANT_QMATH_H */
