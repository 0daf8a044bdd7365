/* libnn's layer functions (part of nn.h): pure functions over raw
 * row-major arrays with explicit sizes, the arithmetic every layer of a net
 * runs. Each forward sits beside its backward in src/layers/layer_<name>.c;
 * backward functions accumulate (+=). */
#ifndef NN_LAYERS_H
#define NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C = alpha * op(A) * op(B) + beta * C, row major; op(X) = X or X^T. */
void nn_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta,
              float *c, int ldc);

/* y = x W^T + b: x (n, in), W (out, in), b (out), y (n, out). */
void nn_dense_forward(const float *x, const float *weight, const float *bias,
                      float *y, int n, int in, int out);
/* dx += dy W, dW += dy^T x, db += sum_n dy (dx may be NULL). */
void nn_dense_backward(const float *x, const float *weight, const float *dy,
                       float *dx, float *dweight, float *dbias, int n, int in,
                       int out);

/* Geometry of a 2-D convolution (fill the first eight, then call
 * nn_conv2d_shape_check to derive out_h and out_w). */
typedef struct {
    int in_c, in_h, in_w; /* input channels, height, width */
    int out_c, kh, kw;    /* filters and kernel size */
    int stride, pad;      /* stride and zero padding, both directions */
    int out_h, out_w;     /* (in + 2 pad - k) / stride + 1 */
} nn_conv2d_shape;

/* Validates a convolution's geometry and fills out_h, out_w. */
nn_status nn_conv2d_shape_check(nn_conv2d_shape *s);
/* y[o] = b[o] + sum_{c,i,j} W[o,c,i,j] x[c, y*s-p+i, x*s-p+j], by im2col +
 * gemm. x (n, in_c, in_h, in_w), W (out_c, in_c, kh, kw), b (out_c),
 * y (n, out_c, out_h, out_w), col: in_c*kh*kw * out_h*out_w floats of
 * scratch. */
void nn_conv2d_forward(const nn_conv2d_shape *s, const float *x,
                       const float *weight, const float *bias, float *y,
                       float *col, int n);
/* dW += dy (*) x, db += sum dy, dx += W^T (*) dy (dx may be NULL). */
void nn_conv2d_backward(const nn_conv2d_shape *s, const float *x,
                        const float *weight, const float *dy, float *dx,
                        float *dweight, float *dbias, float *col, int n);

/* Geometry of 2-D max or average pooling over planes of in_h x in_w (fill
 * the first eight, then call nn_pool2d_shape_check to derive out_h and
 * out_w). A window starts at o * stride - pad; positions outside the input
 * never win a max and, in the mean, count as zeros unless exclude_pad. */
typedef struct {
    int in_h, in_w;   /* one plane */
    int kh, kw;       /* window */
    int stride, pad;  /* both directions; 0 <= pad < kh, kw */
    int ceil_mode;    /* 1: out rounds up, dropping a last window that would
                         start in the padding (PyTorch's ceil_mode) */
    int exclude_pad;  /* average: 1 divides by the inputs in the window
                         (count_include_pad = 0), 0 by the window clipped
                         to the padded input */
    int out_h, out_w; /* floor (or ceil) of (in + 2 pad - k) / stride, + 1 */
} nn_pool2d_shape;

/* Validates a pooling geometry (NN_EINVAL for sizes out of range, NN_ESHAPE
 * when the window does not fit the padded input) and fills out_h, out_w. */
nn_status nn_pool2d_shape_check(nn_pool2d_shape *s);
/* Max pooling of x (planes, in_h, in_w) into y (planes, out_h, out_w)
 * (planes = n*c); argmax records each winner's offset in its plane, the
 * first in row-major order on ties, a NaN winning. */
void nn_maxpool_forward(const nn_pool2d_shape *s, const float *x, float *y,
                        int *argmax, int planes);
/* dx[winner] += dy. */
void nn_maxpool_backward(const nn_pool2d_shape *s, const float *dy,
                         const int *argmax, float *dx, int planes);

/* Batch normalisation in training mode over x (n, c, hw): per channel
 * mean m and variance v over n*hw values, xhat = (x - m) / sqrt(v + eps),
 * y = gamma xhat + beta; running stats r = (1-momentum) r + momentum stat
 * with the unbiased variance. Keeps xhat (n, c, hw) and invstd (c). */
void nn_batchnorm_forward_train(const float *x, const float *gamma,
                                const float *beta, float *y, float *xhat,
                                float *invstd, float *running_mean,
                                float *running_var, int n, int c, int hw,
                                float momentum, float eps);
/* Inference mode: normalises with the running statistics. */
void nn_batchnorm_forward_infer(const float *x, const float *gamma,
                                const float *beta, const float *running_mean,
                                const float *running_var, float *y,
                                float *xhat, float *invstd, int n, int c,
                                int hw, float eps);
/* dbeta += sum dy, dgamma += sum dy xhat; dx += gamma invstd / M
 * (M dy - sum dy - xhat sum dy xhat) with M = n*hw in training mode, or
 * dx += gamma invstd dy in inference mode (training = 0). */
void nn_batchnorm_backward(const float *dy, const float *xhat,
                           const float *gamma, const float *invstd, float *dx,
                           float *dgamma, float *dbeta, int n, int c, int hw,
                           int training);

/* y = max(0, x) over count elements. */
void nn_relu_forward(const float *x, float *y, size_t count);
/* dx += dy * [y > 0]. */
void nn_relu_backward(const float *y, const float *dy, float *dx, size_t count);
/* y = 1 / (1 + exp(-x)). */
void nn_sigmoid_forward(const float *x, float *y, size_t count);
/* dx += dy * y * (1 - y). */
void nn_sigmoid_backward(const float *y, const float *dy, float *dx,
                         size_t count);
/* y = tanh(x). */
void nn_tanh_forward(const float *x, float *y, size_t count);
/* dx += dy * (1 - y^2). */
void nn_tanh_backward(const float *y, const float *dy, float *dx,
                      size_t count);

/* Average pooling of x (planes, in_h, in_w) into y (planes, out_h, out_w):
 * y = sum of the window's inputs / its divisor, which is kh kw (the
 * padding counted, PyTorch's count_include_pad) except for a ceil-mode
 * window running past the padded input, clipped there; with exclude_pad
 * the number of inputs in the window. */
void nn_avgpool_forward(const nn_pool2d_shape *s, const float *x, float *y,
                        int planes);
/* dx += dy / divisor at every input of the output's window. */
void nn_avgpool_backward(const nn_pool2d_shape *s, const float *dy, float *dx,
                         int planes);
/* Global average pooling: y[p] = 1/hw sum_i x[p, i], x (planes, hw). */
void nn_global_avgpool_forward(const float *x, float *y, int planes, int hw);
/* dx[p, i] += dy[p] / hw. */
void nn_global_avgpool_backward(const float *dy, float *dx, int planes, int hw);

/* y = x > 0 ? x : slope * x (NaN stays NaN). */
void nn_leakyrelu_forward(const float *x, float *y, size_t count, float slope);
/* dx += dy * (y > 0 ? 1 : slope), y the forward's output; needs slope > 0. */
void nn_leakyrelu_backward(const float *y, const float *dy, float *dx,
                           size_t count, float slope);

/* Inverted dropout, rate in [0, 1), with a mask of count bytes: 1 where an
 * element is kept, 0 where it is dropped. (A net draws its masks from a
 * counter-based hash, so any split of a pass between threads gives the
 * same mask.) */

/* y = x * mask / (1 - rate). */
void nn_dropout_forward(const float *x, const uint8_t *mask, float *y,
                        size_t count, float rate);
/* dx += dy * mask / (1 - rate). */
void nn_dropout_backward(const uint8_t *mask, const float *dy, float *dx,
                         size_t count, float rate);

/* y = x[0] + x[1] + ... over count elements (inputs arrays). */
void nn_add_forward(const float *const *x, int inputs, float *y, size_t count);
/* dx[k] += dy for each input k (dx[k] may be NULL). */
void nn_add_backward(const float *dy, float *const *dx, int inputs,
                     size_t count);
/* Concatenation along channels: y (n, sum channels[k], hw) from inputs
 * x[k] (n, channels[k], hw). */
void nn_concat_forward(const float *const *x, const int *channels, int inputs,
                       float *y, int n, int hw);
/* dx[k] += the channels of dy that came from input k (dx[k] may be NULL). */
void nn_concat_backward(const float *dy, float *const *dx,
                        const int *channels, int inputs, int n, int hw);

/* Fused softmax + cross-entropy, mean over the batch.
 * logits (n, classes), labels (n) in [0, classes); probs (n, classes) out.
 * *loss = -1/n sum_i log softmax(logits_i)[label_i]. Returns NN_EINVAL for a
 * label out of range (every label is checked before anything is written),
 * NN_ENUMERIC if the loss is not finite. */
nn_status nn_softmax_xent_forward(const float *logits, const int *labels,
                                  float *probs, int n, int classes,
                                  float *loss);
/* dlogits += (probs - onehot(label)) / n; NN_EINVAL for a label out of
 * range, with nothing written. */
nn_status nn_softmax_xent_backward(const float *probs, const int *labels,
                                   float *dlogits, int n, int classes);

/* Mean squared error, halved: *loss = 1/(2n) sum (y - t)^2 over n rows. */
nn_status nn_mse_forward(const float *y, const float *target, int n,
                         int features, float *loss);
/* dy += (y - t) / n. */
void nn_mse_backward(const float *y, const float *target, float *dy, int n,
                     int features);

#ifdef __cplusplus
}
#endif

#endif /* NN_LAYERS_H */
