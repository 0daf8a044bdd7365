/* The C text of the integer kernels an int8 model compiled to C calls
 * (qemit_c.h): the formulas of src/quant/qmodel.h, written out the way
 * src/quant's kernels compute them. Integer sums are exact (the model's
 * checks keep them inside int32), so a plain loop gives the same integers
 * as any blocked or vector kernel; the floats (input quantization, the
 * dequantized logits) are computed in the same operations and order as
 * nn_qmodel_logits. */
#include "qexport/qemit_c.h"

static const char *const texts[QC_COUNT] = {
    [QC_CLAMP] =
        "/* v clamped to [lo, hi] */\n"
        "static int32_t clamp32(int32_t v, int32_t lo, int32_t hi)\n"
        "{\n"
        "    return v < lo ? lo : v > hi ? hi : v;\n"
        "}\n",
    [QC_REQUANT] =
        "/* round(a b / 2^31), ties away from zero, saturated (gemmlowp's\n"
        " * SaturatingRoundingDoublingHighMul) */\n"
        "static int32_t srdhm(int32_t a, int32_t b)\n"
        "{\n"
        "    int64_t p = (int64_t)a * b;\n"
        "    int64_t nudge = p >= 0 ? (INT64_C(1) << 30) : 1 - (INT64_C(1) << 30);\n"
        "    if (a == INT32_MIN && b == INT32_MIN)\n"
        "        return INT32_MAX;\n"
        "    return (int32_t)((p + nudge) / (INT64_C(1) << 31));\n"
        "}\n\n"
        "/* x / 2^e rounded to nearest, ties away from zero (gemmlowp's\n"
        " * RoundingDivideByPOT); >> of a negative value is arithmetic on\n"
        " * every compiler this code is meant for */\n"
        "static int32_t rdivpot(int32_t x, int e)\n"
        "{\n"
        "    int32_t mask = (int32_t)((INT64_C(1) << e) - 1);\n"
        "    int32_t rem = x & mask;\n"
        "    int32_t thr = (mask >> 1) + (x < 0 ? 1 : 0);\n"
        "    return (x >> e) + (rem > thr ? 1 : 0);\n"
        "}\n\n"
        "/* x times the real multiplier mult 2^-31 2^-shift, rounded */\n"
        "static int32_t requant(int32_t x, int32_t mult, int shift)\n"
        "{\n"
        "    if (shift < 0) {\n"
        "        int64_t v = (int64_t)x * (INT64_C(1) << -shift);\n"
        "        x = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;\n"
        "    }\n"
        "    x = srdhm(x, mult);\n"
        "    return shift > 0 ? rdivpot(x, shift) : x;\n"
        "}\n",
    [QC_DIV_ROUND] =
        "/* s / n rounded to nearest, ties away from zero (n > 0) */\n"
        "static int32_t div_round(int32_t s, int32_t n)\n"
        "{\n"
        "    return (s >= 0 ? s + n / 2 : s - n / 2) / n;\n"
        "}\n",
    [QC_QUANTIZE] =
        "/* q[i] = clamp(zero + roundf(x[i] / scale), 0, 255); NaN gives zero */\n"
        "static void quantize(const float *x, int n, float scale, int32_t zero,\n"
        "                     uint8_t *q)\n"
        "{\n"
        "    for (int i = 0; i < n; i++) {\n"
        "        float v = roundf(x[i] / scale);\n"
        "        int32_t t;\n"
        "        if (v != v)\n"
        "            t = zero;\n"
        "        else if (v >= 512.0f)\n"
        "            t = 255;\n"
        "        else if (v <= -512.0f)\n"
        "            t = 0;\n"
        "        else\n"
        "            t = clamp32(zero + (int32_t)v, 0, 255);\n"
        "        q[i] = (uint8_t)t;\n"
        "    }\n"
        "}\n",
    [QC_CONV_ACC] =
        "/* bias + sum over (ci, ky, kx) of x_pad[ci, y0 + ky, x0 + kx] w[ci, ky, kx],\n"
        " * padded positions holding zero_in (the real 0) */\n"
        "static int32_t conv_acc(const uint8_t *x, int c, int h, int w,\n"
        "                        const int8_t *wo, int32_t bias, int kh, int kw,\n"
        "                        int y0, int x0, int32_t zero_in)\n"
        "{\n"
        "    int32_t acc = bias;\n"
        "    for (int ci = 0; ci < c; ci++)\n"
        "        for (int ky = 0; ky < kh; ky++) {\n"
        "            int iy = y0 + ky;\n"
        "            for (int kx = 0; kx < kw; kx++) {\n"
        "                int ix = x0 + kx;\n"
        "                int32_t v = iy < 0 || iy >= h || ix < 0 || ix >= w\n"
        "                                ? zero_in : x[(ci * h + iy) * w + ix];\n"
        "                acc += v * wo[(ci * kh + ky) * kw + kx];\n"
        "            }\n"
        "        }\n"
        "    return acc;\n"
        "}\n",
    [QC_CONV] =
        "/* y[o, oy, ox] = clamp(zero_out + requant(acc, mult[o], shift[o]), lo, hi)\n"
        " * with acc = conv_acc at (oy stride - pad, ox stride - pad) */\n"
        "static void conv_q(const uint8_t *x, int c, int h, int w, int32_t zero_in,\n"
        "                   const int8_t *wt, const int32_t *bias,\n"
        "                   const int32_t *mult, const int8_t *shift, uint8_t *y,\n"
        "                   int out_c, int out_h, int out_w, int32_t zero_out,\n"
        "                   int32_t lo, int32_t hi, int kh, int kw, int stride,\n"
        "                   int pad)\n"
        "{\n"
        "    for (int o = 0; o < out_c; o++)\n"
        "        for (int oy = 0; oy < out_h; oy++)\n"
        "            for (int ox = 0; ox < out_w; ox++) {\n"
        "                int32_t acc = conv_acc(x, c, h, w, wt + o * c * kh * kw,\n"
        "                                       bias[o], kh, kw, oy * stride - pad,\n"
        "                                       ox * stride - pad, zero_in);\n"
        "                y[(o * out_h + oy) * out_w + ox] = (uint8_t)clamp32(\n"
        "                    zero_out + requant(acc, mult[o], shift[o]), lo, hi);\n"
        "            }\n"
        "}\n",
    [QC_CONV_LOGITS] =
        "/* The last convolution: its int32 sums as float logits,\n"
        " * logits[o, oy, ox] = acc_scale[o] acc (the product in double) */\n"
        "static void conv_logits(const uint8_t *x, int c, int h, int w,\n"
        "                        int32_t zero_in, const int8_t *wt,\n"
        "                        const int32_t *bias, const float *acc_scale,\n"
        "                        float *logits, int out_c, int out_h, int out_w,\n"
        "                        int kh, int kw, int stride, int pad)\n"
        "{\n"
        "    for (int o = 0; o < out_c; o++)\n"
        "        for (int oy = 0; oy < out_h; oy++)\n"
        "            for (int ox = 0; ox < out_w; ox++) {\n"
        "                int32_t acc = conv_acc(x, c, h, w, wt + o * c * kh * kw,\n"
        "                                       bias[o], kh, kw, oy * stride - pad,\n"
        "                                       ox * stride - pad, zero_in);\n"
        "                logits[(o * out_h + oy) * out_w + ox] =\n"
        "                    (float)((double)acc_scale[o] * acc);\n"
        "            }\n"
        "}\n",
    [QC_DENSE_ACC] =
        "/* bias + sum over k of x[k] wo[k] */\n"
        "static int32_t dense_acc(const uint8_t *x, int n, const int8_t *wo,\n"
        "                         int32_t bias)\n"
        "{\n"
        "    int32_t acc = bias;\n"
        "    for (int k = 0; k < n; k++)\n"
        "        acc += (int32_t)x[k] * wo[k];\n"
        "    return acc;\n"
        "}\n",
    [QC_DENSE] =
        "/* y[o] = clamp(zero_out + requant(dense_acc, mult[o], shift[o]), lo, hi) */\n"
        "static void dense_q(const uint8_t *x, int n, const int8_t *wt,\n"
        "                    const int32_t *bias, const int32_t *mult,\n"
        "                    const int8_t *shift, uint8_t *y, int out,\n"
        "                    int32_t zero_out, int32_t lo, int32_t hi)\n"
        "{\n"
        "    for (int o = 0; o < out; o++)\n"
        "        y[o] = (uint8_t)clamp32(\n"
        "            zero_out + requant(dense_acc(x, n, wt + o * n, bias[o]),\n"
        "                               mult[o], shift[o]), lo, hi);\n"
        "}\n",
    [QC_DENSE_LOGITS] =
        "/* The last dense layer: logits[o] = acc_scale[o] acc (in double) */\n"
        "static void dense_logits(const uint8_t *x, int n, const int8_t *wt,\n"
        "                         const int32_t *bias, const float *acc_scale,\n"
        "                         float *logits, int out)\n"
        "{\n"
        "    for (int o = 0; o < out; o++)\n"
        "        logits[o] = (float)((double)acc_scale[o] *\n"
        "                            dense_acc(x, n, wt + o * n, bias[o]));\n"
        "}\n",
    [QC_AFFINE] =
        "/* A batchnorm on its own: per channel, acc = bias[c] + x w[c],\n"
        " * y = clamp(zero_out + requant(acc, mult[c], shift[c]), lo, hi) */\n"
        "static void affine_q(const uint8_t *x, int channels, int hw,\n"
        "                     const int8_t *wt, const int32_t *bias,\n"
        "                     const int32_t *mult, const int8_t *shift,\n"
        "                     uint8_t *y, int32_t zero_out, int32_t lo, int32_t hi)\n"
        "{\n"
        "    for (int c = 0; c < channels; c++)\n"
        "        for (int i = 0; i < hw; i++) {\n"
        "            int32_t acc = bias[c] + (int32_t)x[c * hw + i] * wt[c];\n"
        "            y[c * hw + i] = (uint8_t)clamp32(\n"
        "                zero_out + requant(acc, mult[c], shift[c]), lo, hi);\n"
        "        }\n"
        "}\n",
    [QC_POOL_SPAN] =
        "/* The window of output o along one side of size inputs starts at\n"
        " * o stride - pad and is k long: [*first, *last) are the inputs it\n"
        " * covers, *padded the positions of the padded input [-pad, size + pad) */\n"
        "static void pool_span(int o, int stride, int pad, int k, int size,\n"
        "                      int *first, int *last, int *padded)\n"
        "{\n"
        "    int start = o * stride - pad, end = start + k;\n"
        "    *first = start > 0 ? start : 0;\n"
        "    *last = end < size ? end : size;\n"
        "    *padded = (end < size + pad ? end : size + pad) - start;\n"
        "}\n",
    [QC_MAXPOOL] =
        "/* y = max of x over the window clipped to the input (the padding never\n"
        " * wins) */\n"
        "static void maxpool_q(const uint8_t *x, uint8_t *y, int planes, int in_h,\n"
        "                      int in_w, int out_h, int out_w, int kh, int kw,\n"
        "                      int stride, int pad)\n"
        "{\n"
        "    for (int p = 0; p < planes; p++) {\n"
        "        const uint8_t *plane = x + p * in_h * in_w;\n"
        "        for (int oy = 0; oy < out_h; oy++) {\n"
        "            int h0, h1, padded;\n"
        "            pool_span(oy, stride, pad, kh, in_h, &h0, &h1, &padded);\n"
        "            for (int ox = 0; ox < out_w; ox++) {\n"
        "                int w0, w1;\n"
        "                uint8_t best = 0;\n"
        "                pool_span(ox, stride, pad, kw, in_w, &w0, &w1, &padded);\n"
        "                for (int i = h0; i < h1; i++)\n"
        "                    for (int j = w0; j < w1; j++)\n"
        "                        best = plane[i * in_w + j] > best ? plane[i * in_w + j] : best;\n"
        "                y[(p * out_h + oy) * out_w + ox] = best;\n"
        "            }\n"
        "        }\n"
        "    }\n"
        "}\n",
    [QC_AVGPOOL] =
        "/* y = clamp(zero + div_round(s, n), 0, 255): s the sum of x - zero over\n"
        " * the window inside the input, n the window clipped to the padded\n"
        " * input (to the input when exclude_pad) */\n"
        "static void avgpool_q(const uint8_t *x, uint8_t *y, int planes, int in_h,\n"
        "                      int in_w, int out_h, int out_w, int kh, int kw,\n"
        "                      int stride, int pad, int exclude_pad, int32_t zero)\n"
        "{\n"
        "    for (int p = 0; p < planes; p++) {\n"
        "        const uint8_t *plane = x + p * in_h * in_w;\n"
        "        for (int oy = 0; oy < out_h; oy++) {\n"
        "            int h0, h1, padded_h;\n"
        "            pool_span(oy, stride, pad, kh, in_h, &h0, &h1, &padded_h);\n"
        "            for (int ox = 0; ox < out_w; ox++) {\n"
        "                int w0, w1, padded_w;\n"
        "                int32_t s = 0, n;\n"
        "                pool_span(ox, stride, pad, kw, in_w, &w0, &w1, &padded_w);\n"
        "                n = exclude_pad ? (h1 - h0) * (w1 - w0) : padded_h * padded_w;\n"
        "                for (int i = h0; i < h1; i++)\n"
        "                    for (int j = w0; j < w1; j++)\n"
        "                        s += (int32_t)plane[i * in_w + j] - zero;\n"
        "                y[(p * out_h + oy) * out_w + ox] = (uint8_t)clamp32(\n"
        "                    zero + (n > 0 ? div_round(s, n) : 0), 0, 255);\n"
        "            }\n"
        "        }\n"
        "    }\n"
        "}\n",
    [QC_GLOBAL_AVGPOOL] =
        "/* y[p] = clamp(zero + div_round(sum of x[p] - zero, hw), 0, 255) */\n"
        "static void global_avgpool_q(const uint8_t *x, uint8_t *y, int planes,\n"
        "                             int hw, int32_t zero)\n"
        "{\n"
        "    for (int p = 0; p < planes; p++) {\n"
        "        int32_t s = 0;\n"
        "        for (int i = 0; i < hw; i++)\n"
        "            s += (int32_t)x[p * hw + i] - zero;\n"
        "        y[p] = (uint8_t)clamp32(zero + div_round(s, hw), 0, 255);\n"
        "    }\n"
        "}\n",
    [QC_GLOBAL_AVGPOOL_RQ] =
        "/* A global average pooling with its own output scale:\n"
        " * y[p] = clamp(zero_out + requant(sum of x[p] - zero_in, mult, shift),\n"
        " * 0, 255) */\n"
        "static void global_avgpool_rq(const uint8_t *x, uint8_t *y, int planes,\n"
        "                              int hw, int32_t zero_in, int32_t mult,\n"
        "                              int shift, int32_t zero_out)\n"
        "{\n"
        "    for (int p = 0; p < planes; p++) {\n"
        "        int32_t s = 0;\n"
        "        for (int i = 0; i < hw; i++)\n"
        "            s += (int32_t)x[p * hw + i] - zero_in;\n"
        "        y[p] = (uint8_t)clamp32(zero_out + requant(s, mult, shift), 0, 255);\n"
        "    }\n"
        "}\n",
    [QC_ADD] =
        "/* One input of an add: requant((x - zero) 2^20, mult, shift) */\n"
        "static int32_t add_term(uint8_t x, int32_t zero, int32_t mult, int shift)\n"
        "{\n"
        "    return requant(((int32_t)x - zero) * (1 << 20), mult, shift);\n"
        "}\n",
    [QC_RESCALE] =
        "/* y[i] = clamp(zero_out + requant(x[i] - zero_in, mult, shift), 0, 255) */\n"
        "static void rescale_q(const uint8_t *x, int n, int32_t zero_in,\n"
        "                      int32_t mult, int shift, int32_t zero_out, uint8_t *y)\n"
        "{\n"
        "    for (int i = 0; i < n; i++)\n"
        "        y[i] = (uint8_t)clamp32(\n"
        "            zero_out + requant((int32_t)x[i] - zero_in, mult, shift), 0, 255);\n"
        "}\n",
    [QC_COPY] =
        "/* y[i] = x[i] */\n"
        "static void copy_q(const uint8_t *x, int n, uint8_t *y)\n"
        "{\n"
        "    for (int i = 0; i < n; i++)\n"
        "        y[i] = x[i];\n"
        "}\n",
    [QC_LUT] =
        "/* y[i] = lut[x[i]] (may write over x) */\n"
        "static void lut_q(const uint8_t *x, int n, const uint8_t *lut, uint8_t *y)\n"
        "{\n"
        "    for (int i = 0; i < n; i++)\n"
        "        y[i] = lut[x[i]];\n"
        "}\n",
    [QC_DEQUANTIZE] =
        "/* logits[i] = scale (x[i] - zero), in float */\n"
        "static void dequantize(const uint8_t *x, int n, float scale, int32_t zero,\n"
        "                       float *logits)\n"
        "{\n"
        "    for (int i = 0; i < n; i++)\n"
        "        logits[i] = scale * (float)((int32_t)x[i] - zero);\n"
        "}\n",
};

const char *nn_qc_kernel_text(qc_kernel k)
{
    return (unsigned)k < QC_COUNT ? texts[k] : "";
}

unsigned nn_qc_kernel_needs(qc_kernel k)
{
    const unsigned clamp = 1u << QC_CLAMP, requant = 1u << QC_REQUANT;
    switch (k) {
    case QC_QUANTIZE:
        return clamp;
    case QC_CONV:
        return 1u << QC_CONV_ACC | clamp | requant;
    case QC_CONV_LOGITS:
        return 1u << QC_CONV_ACC;
    case QC_DENSE:
        return 1u << QC_DENSE_ACC | clamp | requant;
    case QC_DENSE_LOGITS:
        return 1u << QC_DENSE_ACC;
    case QC_MAXPOOL:
        return 1u << QC_POOL_SPAN;
    case QC_AVGPOOL:
        return 1u << QC_POOL_SPAN | clamp | 1u << QC_DIV_ROUND;
    case QC_GLOBAL_AVGPOOL:
        return clamp | 1u << QC_DIV_ROUND;
    case QC_AFFINE:
    case QC_GLOBAL_AVGPOOL_RQ:
    case QC_ADD:
    case QC_RESCALE:
        return clamp | requant;
    default:
        return 0;
    }
}
