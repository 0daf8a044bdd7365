/* libnn: a small neural-network library in C.
 *
 * Everything public is prefixed nn_ / NN_. Fallible calls return an
 * nn_status; results come back through the last (out) parameter. The library
 * never prints, exits or aborts, and keeps no global mutable state: separate
 * networks may be used from separate threads.
 *
 * Groups: status, random numbers, tensor, kernels, losses, net, optimizers,
 * data, metrics, training, images, model files.
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

/* Result of every fallible call. */
typedef enum {
    NN_OK = 0,      /* success */
    NN_ENOMEM,      /* out of memory */
    NN_EINVAL,      /* invalid argument (NULL, zero stride, bad value) */
    NN_ESHAPE,      /* shapes do not fit together */
    NN_EIO,         /* a file could not be opened, read or written */
    NN_EFORMAT,     /* a file's contents are malformed */
    NN_ENUMERIC,    /* NaN or infinity met */
    NN_ESTATE,      /* call not allowed in the object's current state */
    NN_EOVERFLOW    /* a size computation would overflow */
} nn_status;

/* A static, human-readable message for a status. */
const char *nn_status_str(nn_status status);

/* ---------------------------------------------------------- random numbers */

/* Explicit generator state (xoshiro256**); never shared implicitly. */
typedef struct {
    uint64_t s[4];
} nn_rng;

/* Seeds the generator from one 64-bit value (through splitmix64). */
void nn_rng_seed(nn_rng *rng, uint64_t seed);
/* Next 64 random bits. */
uint64_t nn_rng_next(nn_rng *rng);
/* Uniform float in [0, 1). */
float nn_rng_uniform(nn_rng *rng);
/* Standard normal float (Box-Muller). */
float nn_rng_normal(nn_rng *rng);
/* Uniform integer in [0, n); n must be > 0. */
uint32_t nn_rng_below(nn_rng *rng, uint32_t n);

/* ------------------------------------------------------------------ tensor */

/* A non-owning NCHW view: values x and gradients g (either may be NULL).
 * Dense activations use h = w = 1, so flattening never copies. */
typedef struct {
    float *x; /* (n, c, h, w) values */
    float *g; /* (n, c, h, w) dL/dx, same layout */
    int n, c, h, w;
} nn_tensor;

/* Number of elements n*c*h*w (0 for an invalid shape). */
size_t nn_tensor_count(const nn_tensor *t);

/* ----------------------------------------------------------------- kernels
 * Pure functions over raw row-major arrays. Each forward sits beside its
 * backward in src/layer_<name>.c; backward functions accumulate (+=). */

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
/* Floats of scratch the conv kernels need: in_c*kh*kw * out_h*out_w. */
size_t nn_conv2d_scratch(const nn_conv2d_shape *s);
/* y[o] = b[o] + sum_{c,i,j} W[o,c,i,j] x[c, y*s-p+i, x*s-p+j], by im2col +
 * gemm. x (n, in_c, in_h, in_w), W (out_c, in_c, kh, kw), b (out_c),
 * y (n, out_c, out_h, out_w), col: nn_conv2d_scratch floats. */
void nn_conv2d_forward(const nn_conv2d_shape *s, const float *x,
                       const float *weight, const float *bias, float *y,
                       float *col, int n);
/* dW += dy (*) x, db += sum dy, dx += W^T (*) dy (dx may be NULL). */
void nn_conv2d_backward(const nn_conv2d_shape *s, const float *x,
                        const float *weight, const float *dy, float *dx,
                        float *dweight, float *dbias, float *col, int n);

/* Max pooling over planes (planes = n*c) of in_h x in_w with a k x k window;
 * argmax (planes, out_h, out_w) records each winner's offset in its plane. */
void nn_maxpool_forward(const float *x, float *y, int *argmax, int planes,
                        int in_h, int in_w, int k, int stride, int out_h,
                        int out_w);
/* dx[winner] += dy. */
void nn_maxpool_backward(const float *dy, const int *argmax, float *dx,
                         int planes, int in_h, int in_w, int out_h, int out_w);

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

/* Average pooling over planes (n*c) of in_h x in_w, k x k windows, the zero
 * padding counted (PyTorch's count_include_pad);
 * out = (in + 2 pad - k) / stride + 1. */

/* y = 1/k^2 sum of each window, the padding's zeros included. */
void nn_avgpool_forward(const float *x, float *y, int planes, int in_h,
                        int in_w, int k, int stride, int pad, int out_h,
                        int out_w);
/* dx += dy / k^2 at every input of the output's window. */
void nn_avgpool_backward(const float *dy, float *dx, int planes, int in_h,
                         int in_w, int k, int stride, int pad, int out_h,
                         int out_w);
/* Global average pooling: y[p] = 1/hw sum_i x[p, i], x (planes, hw). */
void nn_global_avgpool_forward(const float *x, float *y, int planes, int hw);
/* dx[p, i] += dy[p] / hw. */
void nn_global_avgpool_backward(const float *dy, float *dx, int planes, int hw);

/* y = x > 0 ? x : slope * x (NaN stays NaN). */
void nn_leakyrelu_forward(const float *x, float *y, size_t count, float slope);
/* dx += dy * (y > 0 ? 1 : slope), y the forward's output; needs slope > 0. */
void nn_leakyrelu_backward(const float *y, const float *dy, float *dx,
                           size_t count, float slope);

/* Inverted dropout, rate in [0, 1). Element j of a pass is kept when a hash
 * of (key, j) in [0, 1) is >= rate, so any split of the pass between threads
 * or calls gives the same mask; the caller derives key from (seed, step). */

/* mask[i] = 1 if element first+i is kept, else 0, for i < count. */
void nn_dropout_mask(uint64_t key, size_t first, size_t count, float rate,
                     uint8_t *mask);
/* y = x * mask / (1 - rate). */
void nn_dropout_forward(const float *x, const uint8_t *mask, float *y,
                        size_t count, float rate);
/* dx += dy * mask / (1 - rate). */
void nn_dropout_backward(const uint8_t *mask, const float *dy, float *dx,
                         size_t count, float rate);

/* Fused softmax + cross-entropy, mean over the batch.
 * logits (n, classes), labels (n) in [0, classes); probs (n, classes) out.
 * *loss = -1/n sum_i log softmax(logits_i)[label_i]. Returns NN_EINVAL for a
 * label out of range, NN_ENUMERIC if the loss is not finite. */
nn_status nn_softmax_xent_forward(const float *logits, const int *labels,
                                  float *probs, int n, int classes,
                                  float *loss);
/* dlogits += (probs - onehot(label)) / n. */
void nn_softmax_xent_backward(const float *probs, const int *labels,
                              float *dlogits, int n, int classes);

/* Mean squared error, halved: *loss = 1/(2n) sum (y - t)^2 over n rows. */
nn_status nn_mse_forward(const float *y, const float *target, int n,
                         int features, float *loss);
/* dy += (y - t) / n. */
void nn_mse_backward(const float *y, const float *target, float *dy, int n,
                     int features);

/* --------------------------------------------------------------------- net */

/* A sequential network that owns all of its memory. */
typedef struct nn_net nn_net;

/* Description of one layer, for tables and parameter counts. */
typedef struct {
    const char *kind;       /* "dense", "conv2d", "relu", ... */
    int out_c, out_h, out_w; /* output shape of one sample */
    size_t params;          /* trainable parameters */
    size_t state;           /* non-trainable state (batchnorm statistics) */
} nn_layer_info;

/* Creates an empty net for inputs of shape (c, h, w). */
nn_status nn_net_create(int c, int h, int w, nn_net **out);
/* Frees the net and everything it owns (NULL is allowed). */
void nn_net_destroy(nn_net *net);

/* Layer constructors append to the net before nn_net_build. Errors are
 * sticky: the first one is kept and returned again by nn_net_build. */

/* Fully connected layer with `out` outputs (input flattened). */
nn_status nn_net_add_dense(nn_net *net, int out);
/* 2-D convolution: out_channels filters of kh x kw, stride, zero padding. */
nn_status nn_net_add_conv2d(nn_net *net, int out_channels, int kh, int kw,
                            int stride, int pad);
/* Rectified linear unit. */
nn_status nn_net_add_relu(nn_net *net);
/* Logistic sigmoid. */
nn_status nn_net_add_sigmoid(nn_net *net);
/* Hyperbolic tangent. */
nn_status nn_net_add_tanh(nn_net *net);
/* Max pooling with a k x k window and the given stride (no padding). */
nn_status nn_net_add_maxpool(nn_net *net, int k, int stride);
/* Batch normalization per channel (per feature after a dense layer);
 * PyTorch conventions: eps 1e-5, momentum 0.1, unbiased running variance. */
nn_status nn_net_add_batchnorm(nn_net *net);

/* Allocates everything for batches of up to max_batch samples and
 * initializes the weights from seed (He before relu, Xavier otherwise). */
nn_status nn_net_build(nn_net *net, int max_batch, uint64_t seed);
/* Re-initializes the weights and statistics of a built net from seed. */
nn_status nn_net_init(nn_net *net, uint64_t seed);

/* Input buffer of the built net, shape (max_batch, c, h, w); fill x. */
nn_tensor *nn_net_input(nn_net *net);
/* Output of the last forward pass, shape (batch, c, h, w). */
nn_tensor *nn_net_output(nn_net *net);
/* Uses `threads` threads (0: one per online CPU) for forward and backward.
 * Results are bit-identical for any thread count. Default: 1. */
nn_status nn_net_set_threads(nn_net *net, int threads);
/* Threads the net uses. */
int nn_net_threads(const nn_net *net);
/* Which kernels a net runs. Each choice gives results that are
 * bit-identical for any thread count; different choices round differently.
 *   NN_KERNELS_AUTO      the fastest this CPU runs (default): AVX2+FMA
 *                        gemm, direct and Winograd convolutions where the
 *                        shapes suit them;
 *   NN_KERNELS_PORTABLE  the same algorithms in plain C, on any CPU;
 *   NN_KERNELS_REFERENCE the textbook method in plain C: every convolution
 *                        as im2col + gemm. */
typedef enum {
    NN_KERNELS_AUTO = 0,
    NN_KERNELS_PORTABLE = 1,
    NN_KERNELS_REFERENCE = 2
} nn_kernels;
/* NN_EINVAL for a value outside nn_kernels. */
nn_status nn_net_set_kernels(nn_net *net, nn_kernels kernels);
nn_kernels nn_net_kernels(const nn_net *net);
/* Whether backward also fills the input gradient (default 0: skipped). */
void nn_net_set_input_grad(nn_net *net, int on);
/* Training mode (1: batch statistics) or inference mode (0). */
void nn_net_set_training(nn_net *net, int training);

/* Runs the first `batch` samples of the input through every layer. */
nn_status nn_net_forward(nn_net *net, int batch);
/* Back-propagates the output gradient (nn_net_output(net)->g), accumulating
 * parameter gradients and writing the input gradient. */
nn_status nn_net_backward(nn_net *net);
/* Sets every parameter gradient to zero. */
void nn_net_zero_grad(nn_net *net);

/* Softmax cross-entropy on the output; sets the output gradient. */
nn_status nn_net_softmax_xent(nn_net *net, const int *labels, float *loss);
/* Softmax probabilities (batch, classes) of the last nn_net_softmax_xent. */
const float *nn_net_probs(const nn_net *net);
/* Halved mean squared error on the output; sets the output gradient. */
nn_status nn_net_mse(nn_net *net, const float *target, float *loss);

/* Number of layers. */
int nn_net_layer_count(const nn_net *net);
/* Description of layer i (0-based). */
nn_status nn_net_layer_info(const nn_net *net, int i, nn_layer_info *out);
/* Trainable parameters of layer i: values, gradients and count. */
nn_status nn_net_layer_params(nn_net *net, int i, float **values,
                              float **grads, size_t *count);
/* Non-trainable state of layer i (batchnorm running mean then variance). */
nn_status nn_net_layer_state(nn_net *net, int i, float **values,
                             size_t *count);
/* Total trainable parameters. */
size_t nn_net_param_count(const nn_net *net);
/* All parameters, gradients, optimizer buffers: one flat layout each. */
float *nn_net_params(nn_net *net);
/* Gradients, same layout as nn_net_params. */
float *nn_net_grads(nn_net *net);
/* Maximum batch the net was built for. */
int nn_net_max_batch(const nn_net *net);
/* Shape (c, h, w) of one input sample. */
void nn_net_input_shape(const nn_net *net, int *c, int *h, int *w);
/* Records the per-channel input normalisation the net was trained with
 * (x = (v/255 - mean) / std), so that model files carry it. */
nn_status nn_net_set_normalization(nn_net *net, const float mean[3],
                                   const float std[3]);
/* The recorded normalisation (mean 0 and std 1 unless set). */
void nn_net_normalization(const nn_net *net, float mean[3], float std[3]);
/* All non-trainable state (batchnorm statistics), layer after layer. */
float *nn_net_state(nn_net *net);
/* Number of floats in nn_net_state. */
size_t nn_net_state_count(const nn_net *net);
/* The layers as an architecture spec ("conv5x5x16p2,relu,pool2,dense10");
 * NN_EOVERFLOW when it does not fit in size bytes. */
nn_status nn_net_spec(const nn_net *net, char *buf, size_t size);

/* ------------------------------------------------------ architecture specs
 * A spec is a comma-separated list of layers:
 *   convKxKxN[sS][pP]  conv2d, N filters of KxK, stride S (1), padding P (0)
 *   denseN             fully connected, N outputs
 *   relu, sigmoid, tanh, bn (batchnorm)
 *   poolK[sS]          max pooling, K x K window, stride S (K)
 * or the name of a preset (see nn_spec_preset). */

/* The spec of a named preset ("mlp", "lenet", "deep", "deep-bn", "vgg"), or NULL. */
const char *nn_spec_preset(const char *name);
/* Appends the layers of a spec (or preset name) to an unbuilt net. On
 * failure msg (when not NULL) says which token is wrong and why. */
nn_status nn_net_add_spec(nn_net *net, const char *spec, char *msg,
                          size_t msg_size);

/* -------------------------------------------------------------- optimizers */

/* Momentum conventions for SGD. */
typedef enum {
    NN_MOMENTUM_PYTORCH = 0, /* v = mu v + g;         w -= lr v */
    NN_MOMENTUM_EMA          /* v = mu v + (1-mu) g;  w -= lr v (the course's) */
} nn_momentum_kind;

/* Stochastic gradient descent settings. With weight decay wd the gradient
 * used is g + wd w (coupled, as PyTorch). Nesterov: w -= lr (g + mu v). */
typedef struct {
    float lr;
    float momentum;
    float weight_decay;
    int nesterov;
    nn_momentum_kind kind;
    int decay_all; /* 1: decay biases and batchnorm too; 0 (default): weights only */
} nn_sgd;

/* One SGD step over flat arrays w, g, v of n elements; wd applies to all. */
void nn_sgd_update(const nn_sgd *opt, float *w, const float *g, float *v,
                   size_t n, float weight_decay);
/* One SGD step over every parameter of the net. */
nn_status nn_net_sgd_step(nn_net *net, const nn_sgd *opt);

/* Adam settings: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
 * w -= lr mhat / (sqrt(vhat) + eps) with bias-corrected mhat, vhat; weight
 * decay is added to the gradient (coupled, as PyTorch's Adam). */
typedef struct {
    float lr, beta1, beta2, eps;
    float weight_decay;
    int decay_all; /* 1: decay biases and batchnorm too */
} nn_adam;

/* One Adam step over flat arrays (t = step number, from 1). */
void nn_adam_update(const nn_adam *opt, float *w, const float *g, float *m,
                    float *v, size_t n, float weight_decay, long t);
/* One Adam step over every parameter of the net (the net counts steps). */
nn_status nn_net_adam_step(nn_net *net, const nn_adam *opt);
/* Optimizer buffers (same layout as nn_net_params): first and second
 * moments; and the number of Adam steps taken. For checkpoints. */
float *nn_net_velocity(nn_net *net);
float *nn_net_moment2(nn_net *net);
long *nn_net_step_count(nn_net *net);

/* Settings of every optimizer; each reads the fields it uses. */
typedef struct {
    int kind;               /* which optimizer */
    float lr;
    float momentum;         /* SGD, RMSprop */
    int momentum_kind;      /* SGD convention */
    int nesterov;           /* SGD */
    float beta1, beta2;     /* Adam, AdamW */
    float alpha;            /* RMSprop smoothing constant */
    float eps;              /* Adam, AdamW, RMSprop */
    float weight_decay;
    int decay_all;          /* 1: decay biases and batchnorm too */
} nn_optim_settings;

/* Updates over flat arrays, following PyTorch 1.13: state[] are the
 * optimizer's buffers, same layout as w; t counts steps from 1; the
 * weight_decay argument (not s->weight_decay) applies to all n. RMSprop
 * keeps sq in state[0] and, with momentum mu > 0, buf in state[1]:
 * buf = mu buf + d / (sqrt(sq) + eps), w -= lr buf. AdamW keeps m, v. */

/* RMSprop: d = g + wd w, sq = a sq + (1-a) d^2, w -= lr d / (sqrt(sq)+eps). */
void nn_rmsprop_update(const nn_optim_settings *s, float *w, const float *g,
                       float *const *state, size_t n, float weight_decay,
                       long t);
/* AdamW: w *= 1 - lr wd, then Adam: w -= lr mhat / (sqrt(vhat) + eps). */
void nn_adamw_update(const nn_optim_settings *s, float *w, const float *g,
                     float *const *state, size_t n, float weight_decay,
                     long t);

/* Learning-rate schedules. */
typedef enum {
    NN_SCHEDULE_CONSTANT = 0, /* lr */
    NN_SCHEDULE_STEP,         /* lr gamma^floor(epoch / step_epochs) */
    NN_SCHEDULE_EXPONENTIAL,  /* lr gamma^epoch (seed 001's decay) */
    NN_SCHEDULE_COSINE        /* min + (lr - min) (1 + cos(pi t / T)) / 2 */
} nn_schedule_kind;

/* A schedule; warm-up ramps linearly from 0 over warmup_epochs first. */
typedef struct {
    nn_schedule_kind kind;
    float lr;           /* base learning rate */
    float gamma;        /* STEP and EXPONENTIAL factor */
    int step_epochs;    /* STEP period */
    int total_epochs;   /* COSINE length T */
    float min_lr;       /* COSINE floor */
    float warmup_epochs;
} nn_schedule;

/* Learning rate at time t, measured in epochs (fractions allowed). */
float nn_schedule_lr(const nn_schedule *s, double t);

/* -------------------------------------------------------------------- data */

/* A labelled image dataset kept as bytes (CIFAR-10 as floats would take
 * 600 MB); batches are converted to floats on demand. */
typedef struct {
    uint8_t *pixels;  /* (count, c, h, w), 0..255 */
    uint8_t *labels;  /* (count), each < classes */
    int count, c, h, w, classes;
    float mean[3], std[3]; /* per channel, applied by nn_dataset_batch */
} nn_dataset;

/* Loads an MNIST-style IDX image file and its label file; each may be plain
 * or gzip-compressed. Sizes are validated before anything is allocated. On
 * failure msg (when not NULL) names the file and the problem. */
nn_status nn_mnist_load(const char *images_path, const char *labels_path,
                        nn_dataset *out, char *msg, size_t msg_size);
/* Loads the training (train = 1) or test split from a directory holding
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
 * and t10k-labels-idx1-ubyte, with or without .gz. */
nn_status nn_mnist_load_dir(const char *dir, int train, nn_dataset *out,
                            char *msg, size_t msg_size);
/* Loads CIFAR-10 binary batch files (1 label byte + 3072 pixel bytes per
 * record, channel-major 3x32x32) and concatenates them. */
nn_status nn_cifar10_load(const char *const *paths, int count,
                          nn_dataset *out, char *msg, size_t msg_size);
/* Loads data_batch_1..5.bin (train = 1) or test_batch.bin from a directory. */
nn_status nn_cifar10_load_dir(const char *dir, int train, nn_dataset *out,
                              char *msg, size_t msg_size);
/* Frees the dataset's arrays and zeroes it (NULL is allowed). */
void nn_dataset_free(nn_dataset *d);
/* Samples indices[0..n) as floats (v/255 - mean) / std into x (n, c, h, w)
 * and their labels into labels (n); indices NULL means 0..n-1. */
nn_status nn_dataset_batch(const nn_dataset *d, const int *indices, int n,
                           float *x, int *labels);
/* Sets mean and std to each channel's statistics over the whole set. */
void nn_dataset_normalize(nn_dataset *d);

/* ---------------------------------------------------------------- metrics */

/* Index of the largest of n values (the first one on ties). */
int nn_argmax(const float *values, int n);
/* matrix (classes, classes) counts rows = true label, columns = predicted. */
nn_status nn_confusion(const int *predicted, const uint8_t *labels, int n,
                       int classes, long *matrix);
/* Per-class precision, recall and F1 from a confusion matrix (0 when a
 * class was never predicted or never present). */
void nn_class_metrics(const long *matrix, int classes, float *precision,
                      float *recall, float *f1);

/* --------------------------------------------------------------- training */

/* Which optimizer the trainer uses. */
typedef enum { NN_OPTIMIZER_SGD = 0, NN_OPTIMIZER_ADAM } nn_optimizer_kind;

/* Progress inside an epoch, reported after every batch. */
typedef struct {
    int epoch, epochs;         /* epoch is 0-based */
    long done, total;          /* images done in this epoch, and in all */
    double loss;               /* mean loss so far this epoch */
    double seconds;            /* since the epoch started */
} nn_progress;

/* Settings of a training run. */
typedef struct {
    int epochs;
    int batch;                 /* minibatch size (<= the net's max batch) */
    uint64_t seed;             /* shuffling and augmentation */
    nn_optimizer_kind optimizer;
    nn_sgd sgd;                /* lr is taken from the schedule */
    nn_adam adam;              /* lr is taken from the schedule */
    nn_schedule schedule;
    int augment_flip;          /* random horizontal flips */
    int augment_crop;          /* random crops after zero-padding this much */
    void (*on_batch)(void *user, const nn_progress *p); /* may be NULL */
    void *user;
} nn_train_config;

/* What one epoch gave. */
typedef struct {
    int epoch;
    float lr;                  /* learning rate at the end of the epoch */
    double train_loss, train_accuracy;
    double seconds, images_per_second;
} nn_epoch_stats;

/* Defaults: 10 epochs of batch 64, SGD momentum 0.9, weight decay 5e-4,
 * lr 0.05 with a cosine schedule. */
nn_train_config nn_train_defaults(void);
/* Trains one epoch (0-based `epoch`) over a shuffled copy of the set; rng
 * carries the shuffling state from epoch to epoch. Stops with NN_ENUMERIC
 * on a NaN or infinite loss before any weight is updated with it. */
nn_status nn_train_epoch(nn_net *net, const nn_dataset *train,
                         const nn_train_config *cfg, int epoch, nn_rng *rng,
                         nn_epoch_stats *stats);
/* Runs the set through the net in inference mode, batch by batch: mean
 * loss, accuracy and (when predicted is not NULL) each sample's class. */
nn_status nn_evaluate(nn_net *net, const nn_dataset *d, int *predicted,
                      double *loss, double *accuracy);

/* ------------------------------------------------------------------ images */

/* Writes pixels (height, width, channels; 1 gray, 3 RGB) as a PNG, atomically. */
nn_status nn_png_write(const char *path, const uint8_t *pixels, int width,
                       int height, int channels, char *msg, size_t msg_size);

/* ------------------------------------------------------------- model files
 * A versioned little-endian binary format (see docs/FORMAT.md): magic,
 * version, input shape and normalisation, architecture spec, parameters,
 * batchnorm statistics and a CRC-32. Saving writes a temporary file and
 * renames it into place. A loaded net starts in training mode. */

/* Saves a built net's architecture and weights to path. */
nn_status nn_model_save(nn_net *net, const char *path, char *msg,
                        size_t msg_size);
/* Loads a model file into a new net built for batches of up to max_batch.
 * A corrupt or truncated file is refused and msg says why. */
nn_status nn_model_load(const char *path, int max_batch, nn_net **out,
                        char *msg, size_t msg_size);

/* ------------------------------------------------------------ checkpoints */

/* What a checkpoint keeps besides the net and its optimizer buffers. */
typedef struct {
    int epoch;  /* epochs completed */
    nn_rng rng; /* the trainer's generator after them */
} nn_train_state;

/* Saves the model, optimizer state (momentum, Adam moments and step count)
 * and ts atomically: temporary file, fsync, rename. */
nn_status nn_checkpoint_save(nn_net *net, const nn_train_state *ts,
                             const char *path, char *msg, size_t msg_size);
/* Loads a checkpoint into a new net built for max_batch and fills ts;
 * training resumed from it gives bit-identical results. */
nn_status nn_checkpoint_load(const char *path, int max_batch, nn_net **out,
                             nn_train_state *ts, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* NN_H */
