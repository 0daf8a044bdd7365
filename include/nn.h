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

/* ----------------------------------------------------------------- version
 * The same numbers as CMake's project(VERSION); configuring checks that. */

/* Major version: 0 while the API may still change. */
#define NN_VERSION_MAJOR 0
/* Minor version: before 1.0 it changes when the API does. */
#define NN_VERSION_MINOR 2
/* Patch version: fixes that keep the API. */
#define NN_VERSION_PATCH 0
/* The three numbers as a string, "MAJOR.MINOR.PATCH". */
#define NN_VERSION_STRING "0.2.0"

/* The version of the compiled library, e.g. "0.2.0" (compare with
 * NN_VERSION_STRING to catch a header that does not match the library). */
const char *nn_version(void);

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
 * backward in src/layers/layer_<name>.c; backward functions accumulate
 * (+=). */

/* The shape of nn_sgemm and of each path behind it. */
typedef void (*nn_sgemm_fn)(int trans_a, int trans_b, int m, int n, int k,
                            float alpha, const float *a, int lda,
                            const float *b, int ldb, float beta, float *c,
                            int ldc);
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

/* --------------------------------------------------------------------- net */

/* A sequential network that owns all of its memory. */
typedef struct nn_net nn_net;

/* Hyper-parameters of a layer (the ones its kind does not use are 0). */
typedef struct {
    int out;          /* dense outputs or conv filters */
    int kh, kw;       /* kernel or pooling window */
    int stride, pad;  /* stride and zero padding, both directions */
    float alpha;      /* leaky relu slope or dropout rate */
} nn_layer_args;

/* Description of one layer, for tables, parameter counts and exporters. */
typedef struct {
    const char *kind;        /* "dense", "conv2d", "relu", ... */
    nn_layer_args args;      /* its geometry and settings */
    int in_c, in_h, in_w;    /* input shape of one sample */
    int out_c, out_h, out_w; /* output shape of one sample */
    size_t params;           /* trainable parameters */
    size_t decayed;          /* leading params that weight decay applies to */
    size_t state;            /* non-trainable state (batchnorm statistics) */
} nn_layer_info;

/* Most named tensors one layer holds (nn_net_layer_fields). */
#define NN_MAX_FIELDS 4

/* One named tensor of a layer, as model files and exports lay it out. */
typedef struct {
    const char *name;  /* "weight", "bias", "gamma", "running_var", ... */
    int state;         /* 0: in the parameters, 1: in the state */
    int rank, dims[4]; /* shape, outermost first */
    size_t offset;     /* first value in the layer's params or state */
    size_t count;      /* values: the product of dims */
    int nonnegative;   /* 1 when a valid value is >= 0 (variances) */
} nn_layer_field;

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
/* Average pooling, k x k window, stride, zero padding counted in the mean. */
nn_status nn_net_add_avgpool(nn_net *net, int k, int stride, int pad);
/* Global average pooling: one mean per channel, output (c, 1, 1). */
nn_status nn_net_add_global_avgpool(nn_net *net);
/* Leaky relu with the given slope in [0, 1) for negative inputs. */
nn_status nn_net_add_leakyrelu(nn_net *net, float slope);
/* Inverted dropout of a share `rate` in [0, 1) of the values in training
 * mode (a new mask each optimizer step); the identity in inference mode. */
nn_status nn_net_add_dropout(nn_net *net, float rate);
/* Any kind of layer by its spec token or name ("conv", "avgpool",
 * "leakyrelu", ...) with explicit hyper-parameters (NULL: the defaults). */
nn_status nn_net_add_layer(nn_net *net, const char *kind,
                           const nn_layer_args *args);

/* Allocates everything for training with batches of up to max_batch
 * samples and initializes the weights from seed: He before relu (with the
 * slope's gain before leaky relu), Xavier otherwise. */
nn_status nn_net_build(nn_net *net, int max_batch, uint64_t seed);
/* The same for inference only: no gradients are allocated, the net is in
 * inference mode, and backward returns NN_ESTATE. */
nn_status nn_net_build_inference(nn_net *net, int max_batch, uint64_t seed);
/* Re-initializes the weights and statistics of a built net from seed. */
nn_status nn_net_init(nn_net *net, uint64_t seed);

/* Input buffer of the built net, shape (max_batch, c, h, w); fill x. */
nn_tensor *nn_net_input(nn_net *net);
/* Output of the last forward pass, shape (batch, c, h, w). */
nn_tensor *nn_net_output(nn_net *net);
/* Output of layer i (0-based) in the last forward pass; NULL when unbuilt. */
nn_tensor *nn_net_layer_output(nn_net *net, int i);
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
/* The net's choice of kernels. */
nn_kernels nn_net_kernels(const nn_net *net);
/* The gemm a choice of kernels runs: AVX2+FMA where the CPU has it for
 * NN_KERNELS_AUTO, plain C otherwise. */
nn_sgemm_fn nn_sgemm_for(nn_kernels kernels);
/* Whether backward also fills the input gradient (default 0: skipped). */
void nn_net_set_input_grad(nn_net *net, int on);
/* Training mode (1: batch statistics, dropout) or inference mode (0); a
 * net built for inference stays in inference mode. */
void nn_net_set_training(nn_net *net, int training);
/* Whether the net is in training mode. */
int nn_net_training(const nn_net *net);

/* Runs the first `batch` samples of the input through every layer. NaN
 * and infinities pass on (relu and max-pooling do not hide them). */
nn_status nn_net_forward(nn_net *net, int batch);
/* Back-propagates the output gradient (nn_net_output(net)->g), accumulating
 * parameter gradients and writing the input gradient. */
nn_status nn_net_backward(nn_net *net);
/* Sets every parameter gradient to zero. */
void nn_net_zero_grad(nn_net *net);
/* NN_ENUMERIC when the last pass met a NaN or an infinity: msg names the
 * first place, in the order input batch, each layer's output, parameter
 * gradients ("the output of layer 2 (relu): sample 0 value 5 is nan"). */
nn_status nn_net_check_finite(const nn_net *net, char *msg, size_t msg_size);
/* The smallest batch every layer accepts in training mode: 2 when a
 * batchnorm layer sees one value per channel (after a dense layer), else 1.
 * nn_net_forward refuses smaller training batches with NN_ESHAPE. */
int nn_net_min_batch(const nn_net *net);

/* Sums across processes, for training one net on several. Each sum_*
 * replaces `values`, on every process, with the sum over the processes of
 * each one's values, added as a pairwise tree in rank order: ranks 0+1,
 * 2+3, ..., then those sums pairwise, an odd last one carried up a level.
 * libnn_mpi makes one over MPI (nn_mpi.h); a NULL group means alone. */
typedef struct {
    int rank, size;            /* this process, and how many there are */
    void *ctx;                 /* what the functions below are given */
    nn_status (*sum_float)(void *ctx, float *values, size_t count);
    nn_status (*sum_double)(void *ctx, double *values, size_t count);
} nn_group;

#define NN_SHARDS_DEFAULT 4    /* shards of a training batch, by default */
#define NN_SHARDS_MAX 256

/* Cuts every batch into `shards` shards of (nearly) equal size: each sum
 * over the batch (parameter gradients, batchnorm statistics) is made per
 * shard, and the shards' sums are added as a pairwise tree (see nn_group).
 * So P processes that each hold shards/P of them give the bits of one
 * process holding all when shards/P is a power of two. Default
 * NN_SHARDS_DEFAULT; may allocate; NN_EINVAL outside [1, NN_SHARDS_MAX]. */
nn_status nn_net_set_shards(nn_net *net, int shards);
/* The net's shard count. */
int nn_net_shards(const nn_net *net);
/* Where shard s of a batch of `total` samples cut in `shards` begins:
 * total * s / shards (s = shards gives total). */
int nn_shard_start(int total, int shards, int s);
/* Sums across processes for the passes that follow (NULL: alone, the
 * default). Batchnorm in training mode adds its statistics through it. */
void nn_net_set_group(nn_net *net, const nn_group *group);
/* Like nn_net_forward, for shards [first, last) of a batch of `total`
 * samples (the input holds just those: nn_shard_start(total, shards, last)
 * - nn_shard_start(total, shards, first) of them). The backward pass and
 * the losses that follow treat them as part of that batch: losses average
 * over `total`, batchnorm's statistics are the whole batch's (through the
 * group), dropout's masks are those of the samples' places in it.
 * nn_net_forward(net, n) is nn_net_forward_shards(net, n, 0, shards). */
nn_status nn_net_forward_shards(nn_net *net, int total, int first, int last);

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
/* Trainable parameters of layer i: values, gradients (NULL in a net built
 * for inference) and count. */
nn_status nn_net_layer_params(nn_net *net, int i, float **values,
                              float **grads, size_t *count);
/* The named tensors of layer i into out (NN_MAX_FIELDS of room); *count
 * gets how many there are. */
nn_status nn_net_layer_fields(const nn_net *net, int i, nn_layer_field *out,
                              int *count);
/* Multiply-adds of one sample through one layer: the products of its gemms
 * or convolution kernels (Winograd F(2x2, 3x3): 16 per 2x2 tile and channel
 * pair; its transforms, only additions but for the weights', not counted);
 * 0 for layers without weights. */
typedef struct {
    uint64_t forward;         /* forward pass, with the net's kernels */
    uint64_t backward;        /* weight gradient, and input gradient when computed */
    uint64_t direct_forward;  /* forward pass counted as direct convolution */
    uint64_t direct_backward; /* backward pass counted likewise */
} nn_layer_macs;
/* Layer i's multiply-adds per sample as the net runs it (its kernel choice;
 * the first layer's input gradient only with nn_net_set_input_grad). */
nn_status nn_net_layer_macs(const nn_net *net, int i, nn_layer_macs *out);
/* Total trainable parameters. */
size_t nn_net_param_count(const nn_net *net);
/* All parameters, layer after layer: one flat array. */
float *nn_net_params(nn_net *net);
/* Gradients, same layout as nn_net_params (NULL when built for inference). */
float *nn_net_grads(nn_net *net);
/* Maximum batch the net was built for. */
int nn_net_max_batch(const nn_net *net);
/* Shape (c, h, w) of one input sample. */
void nn_net_input_shape(const nn_net *net, int *c, int *h, int *w);
/* The counter-based noise of the net (dropout masks): each training
 * forward pass draws from the key (seed, pass) and then counts pass up.
 * nn_net_build sets seed from its seed and pass to 0; checkpoints keep both. */
void nn_net_noise(const nn_net *net, uint64_t *seed, uint64_t *pass);
/* Sets the noise seed and pass counter (to resume a run). */
void nn_net_set_noise(nn_net *net, uint64_t seed, uint64_t pass);
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
 * A spec is a comma-separated list of layer tokens such as
 * "conv5x5x16p2,relu,pool2,dense10" (every token: nn_spec_grammar and
 * docs/FORMAT.md), or the name of a preset (see nn_spec_preset). */

/* The grammar of the i-th layer kind's token ("convKxKxN[sS][pP]") and,
 * when name is not NULL, the kind's name; NULL past the last kind. */
const char *nn_spec_grammar(int i, const char **name);

/* The spec of a named preset ("mlp", "lenet", "deep", "deep-bn", "vgg",
 * "vgg-gap"), or NULL. */
const char *nn_spec_preset(const char *name);
/* Appends the layers of a spec (or preset name) to an unbuilt net. On
 * failure msg (when not NULL) says which token is wrong and why. */
nn_status nn_net_add_spec(nn_net *net, const char *spec, char *msg,
                          size_t msg_size);

/* -------------------------------------------------------------- optimizers
 * An optimizer is its own object over a built net's flat parameters and
 * gradients: it owns its state (momentum, moments) and its step count, so a
 * net needs none of it to run. Each kind is one update function over flat
 * arrays and one entry in the table of src/optim/optim.c. */

/* The optimizers. */
typedef enum {
    NN_OPTIMIZER_SGD = 0, /* with momentum, Nesterov, coupled weight decay */
    NN_OPTIMIZER_ADAM,    /* coupled weight decay, as torch.optim.Adam */
    NN_OPTIMIZER_RMSPROP, /* as torch.optim.RMSprop (not centered) */
    NN_OPTIMIZER_ADAMW    /* decoupled weight decay, as torch.optim.AdamW */
} nn_optimizer_kind;

/* Momentum conventions for SGD. */
typedef enum {
    NN_MOMENTUM_PYTORCH = 0, /* v = mu v + g;         w -= lr v */
    NN_MOMENTUM_EMA          /* v = mu v + (1-mu) g;  w -= lr v (the course's) */
} nn_momentum_kind;

/* Settings of every optimizer; each reads the fields it uses. */
typedef struct {
    nn_optimizer_kind kind;
    float lr;
    float momentum;               /* SGD, RMSprop */
    nn_momentum_kind momentum_kind; /* SGD */
    int nesterov;                 /* SGD: w -= lr (d + mu v) */
    float beta1, beta2;           /* Adam, AdamW */
    float alpha;                  /* RMSprop smoothing of g^2 */
    float eps;                    /* Adam, AdamW, RMSprop */
    float weight_decay;           /* coupled (g + wd w), decoupled for AdamW */
    int decay_all; /* 1: decay biases and batchnorm too; 0 (default): weights only */
} nn_optim_settings;

/* One step over n values of w with gradients g and the optimizer's state
 * buffers state[0], state[1] (same layout as w); weight_decay applies to
 * all n; t counts steps from 1. */
typedef void (*nn_optim_update_fn)(const nn_optim_settings *s, float *w,
                                   const float *g, float *const *state,
                                   size_t n, float weight_decay, long t);
/* SGD: d = g + wd w; v = mu v + d (EMA: mu v + (1-mu) d); w -= lr v, or
 * w -= lr (d + mu v) with Nesterov. state[0] = v. */
void nn_sgd_update(const nn_optim_settings *s, float *w, const float *g,
                   float *const *state, size_t n, float weight_decay, long t);
/* Adam: d = g + wd w; m = b1 m + (1-b1) d; v = b2 v + (1-b2) d^2;
 * w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). state = m, v. */
void nn_adam_update(const nn_optim_settings *s, float *w, const float *g,
                    float *const *state, size_t n, float weight_decay, long t);
/* RMSprop: d = g + wd w; a = alpha a + (1-alpha) d^2; b = mu b + d /
 * (sqrt(a) + eps); w -= lr b (w -= lr d / (sqrt(a) + eps) when mu = 0).
 * state = a, b. */
void nn_rmsprop_update(const nn_optim_settings *s, float *w, const float *g,
                       float *const *state, size_t n, float weight_decay,
                       long t);
/* AdamW: w -= lr wd w, then Adam's step on g without decay. state = m, v. */
void nn_adamw_update(const nn_optim_settings *s, float *w, const float *g,
                     float *const *state, size_t n, float weight_decay,
                     long t);

/* An optimizer bound to the parameters of one built net. */
typedef struct nn_optim nn_optim;

/* PyTorch's defaults for kind: lr 0.01 (SGD, RMSprop) or 0.001 (Adam,
 * AdamW), betas 0.9 and 0.999, alpha 0.99, eps 1e-8, AdamW decay 0.01. */
nn_optim_settings nn_optim_defaults(nn_optimizer_kind kind);
/* The optimizer's name ("sgd", "adam", "rmsprop", "adamw"), NULL if none. */
const char *nn_optimizer_name(nn_optimizer_kind kind);
/* The kind called name; NN_EINVAL when there is none. */
nn_status nn_optimizer_from_name(const char *name, nn_optimizer_kind *out);
/* NN_EINVAL unless the settings are usable (finite, in range). */
nn_status nn_optim_check(const nn_optim_settings *s);
/* An optimizer for the parameters of a net built for training, with zeroed
 * state; NN_ESTATE for a net built for inference. */
nn_status nn_optim_create(nn_net *net, const nn_optim_settings *s,
                          nn_optim **out);
/* Frees the optimizer (NULL is allowed). */
void nn_optim_destroy(nn_optim *opt);
/* One step over every parameter of net (the net it was created for),
 * weights decayed and the rest (biases, batchnorm) only with decay_all. */
nn_status nn_optim_step(nn_optim *opt, nn_net *net);
/* Sets the learning rate of the next steps (schedules call this). */
void nn_optim_set_lr(nn_optim *opt, float lr);
/* The optimizer's settings. */
const nn_optim_settings *nn_optim_get_settings(const nn_optim *opt);
/* Steps taken so far. */
long nn_optim_steps(const nn_optim *opt);
/* State buffer i (0-based) and the floats in it; NULL past the last. */
float *nn_optim_state(nn_optim *opt, int i, size_t *count);

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
    nn_optim_settings optim;   /* to create the optimizer with; its lr is
                                  taken from the schedule */
    nn_schedule schedule;
    int augment_flip;          /* random horizontal flips */
    int augment_crop;          /* random crops after zero-padding this much */
    void (*on_batch)(void *user, const nn_progress *p); /* may be NULL */
    void *user;
    /* Training over several processes (NULL: alone). Every process runs
     * nn_train_epoch with the same settings, data and rng; each computes
     * its own shards of every batch (see nn_net_set_shards: with shards/size
     * a power of two, the weights are those of one process, bit for bit).
     * The stats are the whole group's; on_batch sees this process's part. */
    const nn_group *group;
} nn_train_config;

/* What one epoch gave. */
typedef struct {
    int epoch;
    float lr;                  /* learning rate at the end of the epoch */
    double train_loss, train_accuracy;
    double seconds, images_per_second;
    long images;               /* images trained on (see nn_train_epoch) */
    char message[192];         /* after NN_ENUMERIC: where it was first seen */
} nn_epoch_stats;

/* Defaults: 10 epochs of batch 64, SGD momentum 0.9, weight decay 5e-4,
 * lr 0.05 with a cosine schedule. */
nn_train_config nn_train_defaults(void);
/* Trains one epoch (0-based `epoch`) over a shuffled copy of the set; rng
 * carries the shuffling state from epoch to epoch. A NaN or infinity in a
 * step's loss or gradients stops it with NN_ENUMERIC before that step
 * updates any weight, and stats->message says where it was first seen
 * (nn_net_check_finite). A last batch smaller than nn_net_min_batch (one
 * image, with batchnorm after a dense layer) is left out of that epoch:
 * the order is shuffled, so it is another image every epoch. */
nn_status nn_train_epoch(nn_net *net, nn_optim *opt, const nn_dataset *train,
                         const nn_train_config *cfg, int epoch, nn_rng *rng,
                         nn_epoch_stats *stats);
/* Runs the set through the net in inference mode, batch by batch: mean
 * loss, accuracy and (when predicted is not NULL) each sample's class. The
 * net's mode is restored afterwards. */
nn_status nn_evaluate(nn_net *net, const nn_dataset *d, int *predicted,
                      double *loss, double *accuracy);
/* Bytes that training net (its layers added, not built yet) with batches of
 * up to max_batch would allocate: the net built for training (with the
 * threads set so far) and an optimizer of the given kind, planned without
 * allocating anything. NN_EOVERFLOW when the sizes overflow, NN_ESHAPE (or
 * the layers' error) when the layers do not fit the input. */
nn_status nn_train_memory(nn_net *net, int max_batch,
                          nn_optimizer_kind optimizer, size_t *bytes);

/* ------------------------------------------------------------------- files */

/* Writes size bytes over path atomically: through a temporary file in the
 * same directory (path.tmp.XXXXXX), flushed, fsynced and renamed into
 * place. NN_EIO when it cannot be written (missing directory, full disk)
 * or when path exists and is not a regular file (a directory, a device, a
 * FIFO: never replaced); on any failure path is left exactly as it was,
 * the temporary file is removed and msg names the file and the problem. */
nn_status nn_write_file_atomic(const char *path, const void *data, size_t size,
                               char *msg, size_t msg_size);

/* ------------------------------------------------------------------ images */

/* Writes pixels (height, width, channels; 1 gray, 3 RGB) as a PNG, atomically. */
nn_status nn_png_write(const char *path, const uint8_t *pixels, int width,
                       int height, int channels, char *msg, size_t msg_size);
/* Widest and tallest image nn_png_read accepts, in pixels. */
#define NN_PNG_MAX_SIDE 16384
/* Reads a non-interlaced PNG of any colour type and depth into new pixels
 * (height, width, channels; free()): 1 grey (also a grey palette), 3 RGB,
 * 8 bits, alpha composited on black; every chunk, CRC and size checked. */
nn_status nn_png_read(const char *path, uint8_t **pixels, int *width,
                      int *height, int *channels, char *msg, size_t msg_size);

/* ------------------------------------------------------------- model files
 * A versioned little-endian binary format (see docs/FORMAT.md): magic,
 * version, input shape and normalisation, architecture spec, parameters,
 * batchnorm statistics and a CRC-32. Saving writes a temporary file and
 * renames it into place. */

/* Saves a built net's architecture and weights to path. */
nn_status nn_model_save(nn_net *net, const char *path, char *msg,
                        size_t msg_size);
/* Loads a model file into a new net built for training (in training
 * mode) with batches of up to max_batch. A corrupt or truncated file, or
 * one whose weights are not finite, is refused and msg says why. */
nn_status nn_model_load(const char *path, int max_batch, nn_net **out,
                        char *msg, size_t msg_size);
/* The same into a net built for inference only (nn_net_build_inference). */
nn_status nn_model_load_inference(const char *path, int max_batch,
                                  nn_net **out, char *msg, size_t msg_size);

/* ------------------------------------------------------------------- ONNX
 * Export to and import from ONNX (opset 13, IR version 7; docs/FORMAT.md):
 * every layer kind maps to ONNX operators through its table entry. */

/* Options of nn_onnx_save. */
enum {
    NN_ONNX_SOFTMAX = 1 /* end the graph with a Softmax: probabilities out */
};

/* Writes a built net as an ONNX model with inference semantics (batchnorm
 * with its running statistics, dropout as the identity) and a symbolic
 * batch dimension; atomically, like nn_model_save. */
nn_status nn_onnx_save(nn_net *net, const char *path, unsigned flags,
                       char *msg, size_t msg_size);
/* Reads an ONNX model of the sequential kind libnn represents (Conv, Gemm
 * or MatMul + Add, Relu, LeakyRelu, Sigmoid, Tanh, MaxPool, AveragePool,
 * GlobalAveragePool, BatchNormalization, Dropout, Flatten or Reshape, a
 * final Softmax) into a new net built for max_batch, for inference only
 * when inference is 1. Anything else is refused and msg names the node,
 * its operator and why. */
nn_status nn_onnx_load(const char *path, int max_batch, int inference,
                       nn_net **out, char *msg, size_t msg_size);

/* Every named tensor of every layer (nn_net_layer_fields) as a NumPy .npy
 * file dir/layer<i>_<name>.npy (float32, the tensor's shape); dir is
 * created when missing. */
nn_status nn_weights_save_npy(nn_net *net, const char *dir, char *msg,
                              size_t msg_size);
/* The same as variables layer<i>_<name> of one MATLAB level-5 .mat file
 * (single precision; vectors as columns), for MATLAB and scipy.io.loadmat. */
nn_status nn_weights_save_mat(nn_net *net, const char *path, char *msg,
                              size_t msg_size);

/* ------------------------------------------------------------ checkpoints */

/* What a checkpoint keeps besides the net and its optimizer. */
typedef struct {
    int epoch;  /* epochs completed */
    nn_rng rng; /* the trainer's generator after them */
    int batch;  /* the minibatch size the run trains with (0: unknown, as
                   in version 1 checkpoints) */
} nn_train_state;

/* Saves the model, the net's noise counter, the optimizer (kind, settings,
 * state buffers, step count) and ts (epochs, generator, batch size)
 * atomically: temporary file, fsync, rename. */
nn_status nn_checkpoint_save(nn_net *net, const nn_optim *opt,
                             const nn_train_state *ts, const char *path,
                             char *msg, size_t msg_size);
/* Loads a checkpoint into a new net built for max_batch and a new optimizer
 * for it, and fills ts; training resumed from it gives bit-identical
 * results. When want is not NULL, a checkpoint made with another optimizer
 * or other settings (the learning rate aside) is refused with NN_ESTATE and
 * msg names the difference. ts->batch is the batch size the checkpoint's run
 * trained with (0 when the file does not say): compare it with yours. */
nn_status nn_checkpoint_load(const char *path, int max_batch,
                             const nn_optim_settings *want, nn_net **net,
                             nn_optim **opt, nn_train_state *ts, char *msg,
                             size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* NN_H */
