/* The portable integer kernels of int8 models (src/quant/qkernels.h). */
#include "quant/qkernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <emmintrin.h>
#endif

#include "core/util.h"
#include "layers/pool.h"
#include "quant/qmath.h"

void nn_q_gemm_u8s8_ref(int rows, int out, int depth, const uint8_t *a,
                        const int8_t *w, const int32_t *bias, int32_t *acc)
{
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            const uint8_t *ar = a + (size_t)r * depth;
            const int8_t *wo = w + (size_t)o * depth;
            int32_t sum = bias[o];
            for (int k = 0; k < depth; k++)
                sum += (int32_t)ar[k] * wo[k];
            acc[(size_t)r * out + o] = sum;
        }
}

void nn_q_gemm_s16_portable(int rows, int out, int depth16, const int16_t *a,
                            const int16_t *w, const int32_t *bias,
                            int32_t *acc)
{
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            const int16_t *ar = a + (size_t)r * depth16;
            const int16_t *wo = w + (size_t)o * depth16;
            int32_t sum = bias[o];
            for (int k = 0; k < depth16; k++)
                sum += (int32_t)ar[k] * wo[k];
            acc[(size_t)r * out + o] = sum;
        }
}

nn_q_gemm_fn nn_q_gemm_pick(int allow_avx2)
{
#if defined(__x86_64__)
    if (allow_avx2 && nn_cpu_has_avx2())
        return nn_q_gemm_s16_avx2;
#else
    (void)allow_avx2;
#endif
    return nn_q_gemm_s16_portable;
}

void nn_q_pack_weights(int out, int depth, const int8_t *w, int16_t *w16)
{
    int depth16 = nn_q_depth16(depth);
    for (int o = 0; o < out; o++) {
        int16_t *row = w16 + (size_t)o * depth16;
        for (int k = 0; k < depth; k++)
            row[k] = w[(size_t)o * depth + k];
        for (int k = depth; k < depth16; k++)
            row[k] = 0;
    }
}

void nn_q_widen_rows(int rows, int depth, const uint8_t *a, int16_t *a16)
{
    int depth16 = nn_q_depth16(depth);
    for (int r = 0; r < rows; r++) {
        int16_t *row = a16 + (size_t)r * depth16;
        for (int k = 0; k < depth; k++)
            row[k] = a[(size_t)r * depth + k];
        for (int k = depth; k < depth16; k++)
            row[k] = 0;
    }
}

void nn_q_conv_gemm_ref(int out, int depth, int positions, const uint8_t *a,
                        const int8_t *w, const int32_t *bias, int32_t *acc)
{
    for (int o = 0; o < out; o++)
        for (int p = 0; p < positions; p++) {
            int32_t sum = bias[o];
            for (int k = 0; k < depth; k++)
                sum += (int32_t)w[(size_t)o * depth + k] *
                       a[(size_t)k * positions + p];
            acc[(size_t)o * positions + p] = sum;
        }
}

void nn_q_conv_gemm_portable(int out, int depth2, int pos16,
                             const uint8_t *col, const int32_t *w2,
                             const int32_t *bias, int32_t *acc)
{
    int pairs = depth2 / 2;
    for (int o = 0; o < out; o++) {
        int32_t *row = acc + (size_t)o * pos16;
        for (int p = 0; p < pos16; p++)
            row[p] = bias[o];
        for (int j = 0; j < pairs; j++) {
            uint32_t pair = (uint32_t)w2[(size_t)o * pairs + j];
            int32_t w0 = (int16_t)(pair & 0xffffu), w1 = (int16_t)(pair >> 16);
            const uint8_t *r0 = col + (size_t)2 * j * pos16, *r1 = r0 + pos16;
            for (int p = 0; p < pos16; p++)
                row[p] += r0[p] * w0 + r1[p] * w1;
        }
    }
}

nn_q_conv_gemm_fn nn_q_conv_gemm_pick(int allow_avx2)
{
#if defined(__x86_64__)
    if (allow_avx2 && nn_cpu_has_avx2())
        return nn_q_conv_gemm_avx2;
#else
    (void)allow_avx2;
#endif
    return nn_q_conv_gemm_portable;
}

void nn_q_pack_weight_pairs(int out, int depth, const int8_t *w, int32_t *w2)
{
    int pairs = (depth + 1) / 2;
    for (int o = 0; o < out; o++)
        for (int j = 0; j < pairs; j++) {
            int k = 2 * j;
            uint32_t lo = (uint16_t)(int16_t)w[(size_t)o * depth + k];
            uint32_t hi = k + 1 < depth
                              ? (uint16_t)(int16_t)w[(size_t)o * depth + k + 1]
                              : 0u;
            w2[(size_t)o * pairs + j] = (int32_t)(lo | hi << 16);
        }
}

void nn_q_pack_cols(int depth, int positions, const uint8_t *a, uint8_t *col)
{
    int pos16 = nn_q_pos16(positions);
    memset(col, 0, (size_t)nn_q_depth4(depth) * pos16);
    for (int k = 0; k < depth; k++)
        memcpy(col + (size_t)k * pos16, a + (size_t)k * positions,
               (size_t)positions);
}

size_t nn_q_im2col_scratch(int c, int h, int w, int pad)
{
    return (size_t)c * (h + 2 * pad) * (w + 2 * pad) + 16;
}

/* padded (c, h + 2 pad, w + 2 pad): x inside a border of zero (only the
 * border is set; the 16 bytes of slack after it too). */
static void pad_copy(const uint8_t *x, int c, int h, int w, int pad,
                     uint8_t zero, uint8_t *padded)
{
    int ph = h + 2 * pad, pw = w + 2 * pad;
    for (int ci = 0; ci < c; ci++) {
        uint8_t *plane = padded + (size_t)ci * ph * pw;
        memset(plane, zero, (size_t)pad * pw);
        for (int y = 0; y < h; y++) {
            uint8_t *row = plane + (size_t)(y + pad) * pw;
            memset(row, zero, (size_t)pad);
            memcpy(row + pad, x + ((size_t)ci * h + y) * w, (size_t)w);
            memset(row + pad + w, zero, (size_t)pad);
        }
        memset(plane + (size_t)(h + pad) * pw, zero, (size_t)pad * pw);
    }
    memset(padded + (size_t)c * ph * pw, zero, 16);
}

void nn_q_im2col(const uint8_t *x, int c, int h, int w, int kh, int kw,
                 int stride, int pad, int out_h, int out_w, uint8_t zero,
                 uint8_t *padded, uint8_t *col)
{
    int depth = c * kh * kw, depth4 = nn_q_depth4(depth);
    int pos16 = nn_q_pos16(out_h * out_w);
    int ph = h + 2 * pad, pw = w + 2 * pad;
    pad_copy(x, c, h, w, pad, zero, padded);
    for (int k = 0; k < depth; k++) {
        int ci = k / (kh * kw), ky = k / kw % kh, kx = k % kw;
        const uint8_t *src = padded + ((size_t)ci * ph + ky) * pw + kx;
        uint8_t *dst = col + (size_t)k * pos16;
        for (int oy = 0; oy < out_h; oy++, dst += out_w,
                 src += (size_t)stride * pw) {
            if (stride == 1) /* 8 bytes at a time, past the row's end too:
                                the next row overwrites them */
                for (int ox = 0; ox < out_w; ox += 8)
                    memcpy(dst + ox, src + ox, 8);
            else
                for (int ox = 0; ox < out_w; ox++)
                    dst[ox] = src[ox * stride];
        }
    }
    memset(col + (size_t)depth * pos16, 0, (size_t)(depth4 - depth) * pos16);
}

int nn_cpu_has_avxvnni(void)
{
#if defined(__x86_64__)
    /* CPUID leaf 7, sub-leaf 1: EAX bit 4 is AVX-VNNI (read directly:
     * not every compiler's __builtin_cpu_supports knows its name); the
     * AVX2 check covers the operating system's support of YMM state */
    unsigned a = 0, b = 0, c = 0, d = 0;
    return nn_cpu_has_avx2() && __get_cpuid_count(7, 1, &a, &b, &c, &d) &&
           (a >> 4 & 1u);
#else
    return 0;
#endif
}

void nn_q_pack_weight_quads(int out, int depth, const int8_t *w, int32_t *w4)
{
    int quads = nn_q_depth4(depth) / 4;
    for (int o = 0; o < out; o++)
        for (int j = 0; j < quads; j++) {
            uint32_t v = 0;
            for (int t = 0; t < 4; t++)
                if (4 * j + t < depth)
                    v |= (uint32_t)(uint8_t)w[(size_t)o * depth + 4 * j + t]
                         << (8 * t);
            w4[(size_t)o * quads + j] = (int32_t)v;
        }
}

void nn_q_interleave4(int depth4, int pos16, const uint8_t *col,
                      uint8_t *quads)
{
    for (int j = 0; j < depth4 / 4; j++) {
        const uint8_t *r = col + (size_t)4 * j * pos16;
        uint8_t *q = quads + (size_t)4 * j * pos16;
#if defined(__x86_64__)
        /* SSE2 (in every x86-64): 16 positions of 4 rows at a time */
        for (int p = 0; p < pos16; p += 16, q += 64) {
            __m128i r0 = _mm_loadu_si128((const __m128i *)(r + p));
            __m128i r1 = _mm_loadu_si128((const __m128i *)(r + pos16 + p));
            __m128i r2 = _mm_loadu_si128((const __m128i *)(r + 2 * pos16 + p));
            __m128i r3 = _mm_loadu_si128((const __m128i *)(r + 3 * pos16 + p));
            __m128i t0 = _mm_unpacklo_epi8(r0, r1), t1 = _mm_unpacklo_epi8(r2, r3);
            __m128i t2 = _mm_unpackhi_epi8(r0, r1), t3 = _mm_unpackhi_epi8(r2, r3);
            _mm_storeu_si128((__m128i *)q, _mm_unpacklo_epi16(t0, t1));
            _mm_storeu_si128((__m128i *)(q + 16), _mm_unpackhi_epi16(t0, t1));
            _mm_storeu_si128((__m128i *)(q + 32), _mm_unpacklo_epi16(t2, t3));
            _mm_storeu_si128((__m128i *)(q + 48), _mm_unpackhi_epi16(t2, t3));
        }
#else
        for (int p = 0; p < pos16; p++)
            for (int t = 0; t < 4; t++)
                q[4 * p + t] = r[(size_t)t * pos16 + p];
#endif
    }
}

void nn_q_im2col_quads(const uint8_t *x, int c, int h, int w, int kh, int kw,
                       int stride, int pad, int out_h, int out_w,
                       uint8_t zero, uint8_t *padded, uint8_t *col,
                       uint8_t *quads)
{
    int depth = c * kh * kw, depth4 = nn_q_depth4(depth);
    int pos16 = nn_q_pos16(out_h * out_w);
#if defined(__x86_64__)
    if (stride == 1) {
        int ph = h + 2 * pad, pw = w + 2 * pad;
        pad_copy(x, c, h, w, pad, zero, padded);
        for (int j = 0; j < depth4 / 4; j++) {
            const uint8_t *src[4];
            for (int t = 0; t < 4; t++) {
                int k = 4 * j + t;
                /* past depth any bytes do: their weights are 0 */
                int kk = k < depth ? k : 0;
                int ci = kk / (kh * kw), ky = kk / kw % kh, kx = kk % kw;
                src[t] = padded + ((size_t)ci * ph + ky) * pw + kx;
            }
            for (int oy = 0; oy < out_h; oy++) {
                uint8_t *dst = quads + (size_t)4 * ((size_t)j * pos16 +
                                                    (size_t)oy * out_w);
                size_t row = (size_t)oy * pw;
                for (int ox = 0; ox < out_w; ox += 16) {
                    __m128i r0 = _mm_loadu_si128(
                        (const __m128i *)(src[0] + row + ox));
                    __m128i r1 = _mm_loadu_si128(
                        (const __m128i *)(src[1] + row + ox));
                    __m128i r2 = _mm_loadu_si128(
                        (const __m128i *)(src[2] + row + ox));
                    __m128i r3 = _mm_loadu_si128(
                        (const __m128i *)(src[3] + row + ox));
                    __m128i t0 = _mm_unpacklo_epi8(r0, r1);
                    __m128i t1 = _mm_unpacklo_epi8(r2, r3);
                    __m128i t2 = _mm_unpackhi_epi8(r0, r1);
                    __m128i t3 = _mm_unpackhi_epi8(r2, r3);
                    uint8_t *d = dst + 4 * (size_t)ox;
                    _mm_storeu_si128((__m128i *)d, _mm_unpacklo_epi16(t0, t1));
                    _mm_storeu_si128((__m128i *)(d + 16),
                                     _mm_unpackhi_epi16(t0, t1));
                    _mm_storeu_si128((__m128i *)(d + 32),
                                     _mm_unpacklo_epi16(t2, t3));
                    _mm_storeu_si128((__m128i *)(d + 48),
                                     _mm_unpackhi_epi16(t2, t3));
                }
            }
        }
        return;
    }
#endif
    nn_q_im2col(x, c, h, w, kh, kw, stride, pad, out_h, out_w, zero, padded,
                col);
    nn_q_interleave4(depth4, pos16, col, quads);
}

void nn_q_conv_gemm_quads_portable(int out, int depth4, int pos16,
                                   const uint8_t *quads, const int32_t *w4,
                                   const int32_t *bias, int32_t *acc)
{
    int n = depth4 / 4;
    for (int o = 0; o < out; o++) {
        int32_t *row = acc + (size_t)o * pos16;
        for (int p = 0; p < pos16; p++)
            row[p] = bias[o];
        for (int j = 0; j < n; j++) {
            uint32_t v = (uint32_t)w4[(size_t)o * n + j];
            const uint8_t *q = quads + (size_t)4 * j * pos16;
            int32_t w0 = (int8_t)(v & 0xff), w1 = (int8_t)(v >> 8 & 0xff);
            int32_t w2 = (int8_t)(v >> 16 & 0xff), w3 = (int8_t)(v >> 24);
            for (int p = 0; p < pos16; p++)
                row[p] += q[4 * p] * w0 + q[4 * p + 1] * w1 +
                          q[4 * p + 2] * w2 + q[4 * p + 3] * w3;
        }
    }
}

void nn_q_requant_plane(const int32_t *acc, int n, nn_qmul m, int32_t zero,
                        int32_t lo, int32_t hi, uint8_t *y)
{
    for (int p = 0; p < n; p++)
        y[p] = (uint8_t)nn_q_clamp(zero + nn_q_requant(acc[p], m), lo, hi);
}

nn_q_requant_plane_fn nn_q_requant_plane_pick(int allow_avx2)
{
#if defined(__x86_64__)
    if (allow_avx2 && nn_cpu_has_avx2())
        return nn_q_requant_plane_avx2;
#else
    (void)allow_avx2;
#endif
    return nn_q_requant_plane;
}

void nn_q_quantize(const float *x, size_t n, float scale, int32_t zero,
                   uint8_t *q)
{
    for (size_t i = 0; i < n; i++)
        q[i] = nn_q_quantize_one(x[i], scale, zero);
}

nn_q_quantize_fn nn_q_quantize_pick(int allow_avx2)
{
#if defined(__x86_64__)
    if (allow_avx2 && nn_cpu_has_avx2())
        return nn_q_quantize_avx2;
#else
    (void)allow_avx2;
#endif
    return nn_q_quantize;
}

void nn_q_requant_rows(int rows, int out, const int32_t *acc,
                       const nn_qmul *m, int32_t zero, int32_t lo, int32_t hi,
                       uint8_t *y)
{
    for (size_t i = 0; i < (size_t)rows * out; i++)
        y[i] = (uint8_t)nn_q_clamp(zero + nn_q_requant(acc[i], m[i % out]),
                                   lo, hi);
}

void nn_q_affine(const uint8_t *x, int channels, size_t hw, const int8_t *w,
                 const int32_t *bias_folded, const nn_qmul *m, int32_t zero,
                 int32_t lo, int32_t hi, uint8_t *y)
{
    for (int c = 0; c < channels; c++)
        for (size_t i = 0; i < hw; i++) {
            size_t at = (size_t)c * hw + i;
            int32_t acc = bias_folded[c] + (int32_t)x[at] * w[c];
            y[at] = (uint8_t)nn_q_clamp(zero + nn_q_requant(acc, m[c]), lo, hi);
        }
}

/* The 2 x 2, stride 2, unpadded window with every window inside. */
static void maxpool_2x2(const nn_pool2d_shape *s, const uint8_t *x,
                        uint8_t *y, int planes)
{
    for (int p = 0; p < planes; p++)
        for (int oy = 0; oy < s->out_h; oy++) {
            const uint8_t *r0 = x + ((size_t)p * s->in_h + 2 * oy) * s->in_w;
            const uint8_t *r1 = r0 + s->in_w;
            uint8_t *yr = y + ((size_t)p * s->out_h + oy) * s->out_w;
            int ox = 0;
#if defined(__x86_64__)
            /* SSE2: 16 outputs from 32 bytes of each row */
            const __m128i low = _mm_set1_epi16(0xff);
            for (; ox + 16 <= s->out_w; ox += 16) {
                __m128i a = _mm_max_epu8(
                    _mm_loadu_si128((const __m128i *)(r0 + 2 * ox)),
                    _mm_loadu_si128((const __m128i *)(r1 + 2 * ox)));
                __m128i b = _mm_max_epu8(
                    _mm_loadu_si128((const __m128i *)(r0 + 2 * ox + 16)),
                    _mm_loadu_si128((const __m128i *)(r1 + 2 * ox + 16)));
                a = _mm_and_si128(_mm_max_epu8(a, _mm_srli_epi16(a, 8)), low);
                b = _mm_and_si128(_mm_max_epu8(b, _mm_srli_epi16(b, 8)), low);
                _mm_storeu_si128((__m128i *)(yr + ox), _mm_packus_epi16(a, b));
            }
            for (; ox + 8 <= s->out_w; ox += 8) { /* 8 from 16 bytes */
                __m128i a = _mm_max_epu8(
                    _mm_loadu_si128((const __m128i *)(r0 + 2 * ox)),
                    _mm_loadu_si128((const __m128i *)(r1 + 2 * ox)));
                a = _mm_and_si128(_mm_max_epu8(a, _mm_srli_epi16(a, 8)), low);
                _mm_storel_epi64((__m128i *)(yr + ox), _mm_packus_epi16(a, a));
            }
#endif
            for (; ox < s->out_w; ox++) {
                uint8_t a = r0[2 * ox] > r0[2 * ox + 1] ? r0[2 * ox]
                                                         : r0[2 * ox + 1];
                uint8_t b = r1[2 * ox] > r1[2 * ox + 1] ? r1[2 * ox]
                                                         : r1[2 * ox + 1];
                yr[ox] = a > b ? a : b;
            }
        }
}

void nn_q_maxpool(const nn_pool2d_shape *s, const uint8_t *x, uint8_t *y,
                  int planes)
{
    if (s->kh == 2 && s->kw == 2 && s->stride == 2 && s->pad == 0 &&
        2 * s->out_h <= s->in_h && 2 * s->out_w <= s->in_w) {
        maxpool_2x2(s, x, y, planes);
        return;
    }
    for (int p = 0; p < planes; p++) {
        const uint8_t *plane = x + (size_t)p * s->in_h * s->in_w;
        uint8_t *yp = y + (size_t)p * s->out_h * s->out_w;
        for (int oy = 0; oy < s->out_h; oy++) {
            int h0, h1, padded;
            nn_pool_span(oy, s->stride, s->pad, s->kh, s->in_h, &h0, &h1,
                         &padded);
            for (int ox = 0; ox < s->out_w; ox++) {
                int w0, w1;
                uint8_t best = 0;
                nn_pool_span(ox, s->stride, s->pad, s->kw, s->in_w, &w0, &w1,
                             &padded);
                for (int iy = h0; iy < h1; iy++)
                    for (int ix = w0; ix < w1; ix++) {
                        uint8_t v = plane[(size_t)iy * s->in_w + ix];
                        best = v > best ? v : best;
                    }
                yp[(size_t)oy * s->out_w + ox] = best;
            }
        }
    }
}

void nn_q_avgpool(const nn_pool2d_shape *s, const uint8_t *x, int32_t zero,
                  uint8_t *y, int planes)
{
    for (int p = 0; p < planes; p++) {
        const uint8_t *plane = x + (size_t)p * s->in_h * s->in_w;
        uint8_t *yp = y + (size_t)p * s->out_h * s->out_w;
        for (int oy = 0; oy < s->out_h; oy++) {
            int h0, h1, padded_h;
            nn_pool_span(oy, s->stride, s->pad, s->kh, s->in_h, &h0, &h1,
                         &padded_h);
            for (int ox = 0; ox < s->out_w; ox++) {
                int w0, w1, padded_w;
                int32_t sum = 0, n;
                nn_pool_span(ox, s->stride, s->pad, s->kw, s->in_w, &w0, &w1,
                             &padded_w);
                n = s->exclude_pad ? (h1 - h0) * (w1 - w0)
                                   : padded_h * padded_w;
                for (int iy = h0; iy < h1; iy++)
                    for (int ix = w0; ix < w1; ix++)
                        sum += (int32_t)plane[(size_t)iy * s->in_w + ix] - zero;
                yp[(size_t)oy * s->out_w + ox] = (uint8_t)nn_q_clamp(
                    zero + (n > 0 ? nn_q_div_round(sum, n) : 0), 0, 255);
            }
        }
    }
}

void nn_q_global_avgpool(const uint8_t *x, int32_t zero, size_t hw,
                         uint8_t *y, int planes)
{
    for (int p = 0; p < planes; p++) {
        int32_t sum = 0;
        for (size_t i = 0; i < hw; i++)
            sum += (int32_t)x[(size_t)p * hw + i] - zero;
        y[p] = (uint8_t)nn_q_clamp(zero + nn_q_div_round(sum, (int32_t)hw), 0,
                                   255);
    }
}

void nn_q_global_avgpool_requant(const uint8_t *x, int32_t zero_in, size_t hw,
                                 nn_qmul m, int32_t zero_out, uint8_t *y,
                                 int planes)
{
    for (int p = 0; p < planes; p++) {
        int32_t sum = 0;
        for (size_t i = 0; i < hw; i++)
            sum += (int32_t)x[(size_t)p * hw + i] - zero_in;
        y[p] = (uint8_t)nn_q_clamp(zero_out + nn_q_requant(sum, m), 0, 255);
    }
}

void nn_q_add(const uint8_t *const *x, int count, size_t n,
              const int32_t *zero_in, const nn_qjoin *j, int32_t zero_out,
              uint8_t *y)
{
    for (size_t i = 0; i < n; i++) {
        int32_t sum = 0;
        for (int t = 0; t < count; t++)
            sum += nn_q_requant(((int32_t)x[t][i] - zero_in[t])
                                    * (1 << NN_QADD_LEFT_SHIFT),
                                j->in[t]);
        y[i] = (uint8_t)nn_q_clamp(zero_out + nn_q_requant(sum, j->out), j->lo,
                                   j->hi);
    }
}

void nn_q_rescale(const uint8_t *x, size_t n, int32_t zero_in, nn_qmul m,
                  int same, int32_t zero_out, uint8_t *y)
{
    if (same) {
        memcpy(y, x, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = (uint8_t)nn_q_clamp(
            zero_out + nn_q_requant((int32_t)x[i] - zero_in, m), 0, 255);
}

void nn_q_lut(const uint8_t *x, size_t n, const uint8_t lut[256], uint8_t *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = lut[x[i]];
}
