/* Inverted dropout with a counter-based generator: whether element i of a
 * pass is kept depends only on (key, i), so a mask is the same however the
 * work is split between threads or calls. The caller derives key from
 * (seed, step). Kept values are scaled by 1 / (1 - rate), so the expected
 * output equals the input and inference needs no dropout at all. */
#include "layers/layer.h"

/* splitmix64's finaliser: a bijection of 64-bit values whose every output
 * bit depends on every input bit. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* mask[i] = [u >= rate], u = (top 24 bits of mix64(mix64(key) + j G)) / 2^24
 * for element j = first + i, G = 2^64 / phi the golden-ratio constant; key
 * is mixed first so that two keys do not give masks that are shifts of one
 * another (key2 = key1 + d G would, without it). */
void nn_dropout_mask(uint64_t key, size_t first, size_t count, float rate,
                     uint8_t *mask)
{
    const uint64_t golden = 0x9e3779b97f4a7c15u, base = mix64(key);
    for (size_t i = 0; i < count; i++) {
        uint64_t bits = mix64(base + (uint64_t)(first + i) * golden);
        float u = (float)(bits >> 40) * 0x1p-24f; /* exact: 24 bits */
        mask[i] = u >= rate;
    }
}

/* y = x * mask / (1 - rate); a dropped infinity or NaN gives NaN (as x * 0) */
void nn_dropout_forward(const float *restrict x, const uint8_t *restrict mask,
                        float *restrict y, size_t count, float rate)
{
    const float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] * ((float)mask[i] * scale);
}

/* dx += dy * mask / (1 - rate) */
void nn_dropout_backward(const uint8_t *restrict mask,
                         const float *restrict dy, float *restrict dx,
                         size_t count, float rate)
{
    const float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < count; i++)
        dx[i] += dy[i] * ((float)mask[i] * scale);
}
