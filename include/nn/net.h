/* libnn's net (part of nn.h): building a network from layers or an
 * architecture spec, running it forward and backward with a loss, and
 * describing its layers. */
#ifndef NN_NET_H
#define NN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "nn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A network that owns all of its memory: a chain of layers, or a small
 * graph where a layer reads the outputs of earlier layers it names. */
typedef struct nn_net nn_net;

/* Most inputs one layer reads ("add" and "concat" read two or more). */
#define NN_MAX_INPUTS 8
/* Bytes of a layer's name, its NUL included ("block1"). */
#define NN_NAME_SIZE 16

/* Hyper-parameters of a layer (the ones its kind does not use are 0). */
typedef struct {
    int out;          /* dense outputs or conv filters */
    int kh, kw;       /* kernel or pooling window */
    int stride, pad;  /* stride and zero padding, both directions */
    float slope;      /* leaky relu: y = slope * x for x <= 0 */
    float rate;       /* dropout: share of values dropped in training */
    float eps;        /* batchnorm: x_hat = (x - mean) / sqrt(var + eps), in
                         (0, 1]; the kind's default is 1e-5 (0 is refused) */
    int ceil_mode;    /* pooling: 1 rounds the output size up (ceil_mode) */
    int exclude_pad;  /* average pooling: 1 leaves the padding out of the
                         mean (count_include_pad = 0) */
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
    const char *name;        /* its name, "" when it has none */
    int inputs;              /* how many outputs it reads */
    int from[NN_MAX_INPUTS]; /* the layers it reads, -1 the net's input;
                                input shape above: from[0]'s output */
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
/* Max pooling with a k x k window and the given stride (no padding;
 * nn_net_add_layer or a spec token gives padding and ceil mode). */
nn_status nn_net_add_maxpool(nn_net *net, int k, int stride);
/* Batch normalization per channel (per feature after a dense layer);
 * PyTorch conventions: eps 1e-5 (another through nn_net_add_layer's
 * args.eps or the token bnepsE), momentum 0.1, unbiased running variance. */
nn_status nn_net_add_batchnorm(nn_net *net);
/* Average pooling, k x k window, stride, zero padding counted in the mean
 * (nn_net_add_layer or a spec token gives ceil mode, padding not counted). */
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

/* Branches and joins. A layer reads the previous layer's output unless it
 * is added with the layers it reads: `from` holds earlier layer indices
 * (-1: the net's input). An output read by several layers receives the sum
 * of their gradients; every output but the last must be read. */

/* Like nn_net_add_layer, reading from[0..count) (one input for most kinds,
 * two or more for "add" and "concat"). */
nn_status nn_net_add_layer_from(nn_net *net, const char *kind,
                                const nn_layer_args *args, const int *from,
                                int count);
/* y = sum of the outputs of layers from[0..count), all of one shape: the
 * residual connection. */
nn_status nn_net_add_add(nn_net *net, const int *from, int count);
/* The outputs of layers from[0..count) one after another along channels
 * (all of one height and width). */
nn_status nn_net_add_concat(nn_net *net, const int *from, int count);
/* Names layer i ("block1": a letter, then letters, digits or '_', shorter
 * than NN_NAME_SIZE; not "input", and "l<N>" only for layer N) for specs
 * and tables; NN_EINVAL when taken or malformed. */
nn_status nn_net_name_layer(nn_net *net, int i, const char *name);
/* The index of the layer called name (-1 for "input"); NN_EINVAL when no
 * layer is. */
nn_status nn_net_find_layer(const nn_net *net, const char *name, int *index);
/* Why the last failed add or build failed, naming the layer ("" when none
 * did). */
const char *nn_net_why(const nn_net *net);

/* Allocates everything for training with batches of up to max_batch
 * samples and initializes the weights from seed: He before relu (with the
 * slope's gain before leaky relu), Xavier otherwise. */
nn_status nn_net_build(nn_net *net, int max_batch, uint64_t seed);
/* The same for inference only: no gradients are allocated, the net is in
 * inference mode, and backward returns NN_ESTATE. A batchnorm right after
 * a convolution or dense layer is folded into a copy of its weights, a
 * relu after a convolution is applied by it, the kernels' forms of the
 * weights are kept between passes, and the gemm may use AVX-512: outputs
 * match the training build's within rounding, not bit for bit; only the
 * last layer's output and the input are kept. */
nn_status nn_net_build_inference(nn_net *net, int max_batch, uint64_t seed);
/* Re-initializes the weights and statistics of a built net from seed. */
nn_status nn_net_init(nn_net *net, uint64_t seed);

/* Input buffer of the built net, shape (max_batch, c, h, w); fill x. */
nn_tensor *nn_net_input(nn_net *net);
/* Output of the last forward pass, shape (batch, c, h, w). */
nn_tensor *nn_net_output(nn_net *net);
/* Output of layer i (0-based) in the last forward pass; NULL when unbuilt.
 * Its gradient (g) is the net's working memory: outputs whose gradients
 * are never needed at once share it, so after a backward pass only the
 * input's and the output's gradients are meaningful. In a net built for
 * inference the values (x) are working memory too: after a forward pass
 * only the input's and the last layer's are meaningful. In training mode
 * a batchnorm, add or convolution followed by a relu that alone reads it
 * is run with that relu: its own output is not written (the relu's output
 * holds the result); inference mode and NN_KERNELS_REFERENCE write both. */
nn_tensor *nn_net_layer_output(nn_net *net, int i);
/* Uses `threads` threads (0: one per online CPU) for forward and backward.
 * Results are bit-identical for any thread count. Default: 1; a net in a
 * caller's buffer (nn_model_load_into) keeps one (NN_ESTATE). */
nn_status nn_net_set_threads(nn_net *net, int threads);
/* Threads the net uses. */
int nn_net_threads(const nn_net *net);
/* Which kernels a net runs. Each choice gives results that are
 * bit-identical for any thread count; different choices round differently.
 *   NN_KERNELS_AUTO      the fastest this CPU runs (default): AVX2+FMA
 *                        or AVX-512 gemm (the same bits), direct and
 *                        Winograd convolutions where the shapes suit them;
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
 * first place, in the order input batch, each layer's output (a net built
 * for inference: the last's only), parameter gradients ("the output of
 * layer 2 (relu): sample 0 value 5 is nan"). */
nn_status nn_net_check_finite(const nn_net *net, char *msg, size_t msg_size);
/* The smallest batch every layer accepts in training mode: 2 when a
 * batchnorm layer sees one value per channel (after a dense layer), else 1.
 * nn_net_forward refuses smaller training batches with NN_ESHAPE. */
int nn_net_min_batch(const nn_net *net);

/* Softmax cross-entropy on the output; sets the output gradient. */
nn_status nn_net_softmax_xent(nn_net *net, const int *labels, float *loss);
/* Softmax probabilities of the last forward pass's output, without labels
 * (prediction): fills nn_net_probs. */
nn_status nn_net_softmax(nn_net *net);
/* Softmax probabilities (batch, classes) of the last nn_net_softmax_xent
 * or nn_net_softmax. */
const float *nn_net_probs(const nn_net *net);
/* Halved mean squared error on the output; sets the output gradient. */
nn_status nn_net_mse(nn_net *net, const float *target, float *loss);

/* Number of layers. */
int nn_net_layer_count(const nn_net *net);
/* Description of layer i (0-based). */
nn_status nn_net_layer_info(const nn_net *net, int i, nn_layer_info *out);
/* Trainable parameters of layer i: values, gradients (NULL in a net built
 * for inference) and count. Like nn_net_params, marks them changed. */
nn_status nn_net_layer_params(nn_net *net, int i, float **values,
                              float **grads, size_t *count);
/* Total trainable parameters. */
size_t nn_net_param_count(const nn_net *net);
/* All parameters, layer after layer: one flat array. Each call marks them
 * changed: a net built for inference remakes what it derives from them
 * (folded, transformed weights) before its next forward pass. After
 * writing through a pointer kept from before a forward pass, call it (or
 * nn_net_layer_params, nn_net_state) again. */
float *nn_net_params(nn_net *net);
/* Gradients, same layout as nn_net_params (NULL when built for inference). */
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
/* All non-trainable state (batchnorm statistics), layer after layer; marks
 * it changed, as nn_net_params does. */
float *nn_net_state(nn_net *net);
/* Number of floats in nn_net_state. */
size_t nn_net_state_count(const nn_net *net);
/* The layers as an architecture spec ("conv5x5x16p2,relu,pool2,dense10",
 * "conv3x3x16p1,bn,relu@a,...,add(a)"); NN_EOVERFLOW when it does not fit
 * in size bytes. */
nn_status nn_net_spec(const nn_net *net, char *buf, size_t size);

/* ------------------------------------------------------ architecture specs
 * A spec is a comma-separated list of layer tokens such as
 * "conv5x5x16p2,relu,pool2,dense10" (every token: nn_spec_grammar and
 * docs/FORMAT.md), or the name of a preset (see nn_spec_preset). A token
 * may end with the outputs it reads in parentheses and a name after '@':
 * "relu@a,conv3x3x8p1,add(a)" adds the previous output and a's;
 * "conv1x1x8(a)" reads a's; "input" is the net's input. */

/* The grammar of the i-th layer kind's token ("convKxKxN[sS][pP]") and,
 * when name is not NULL, the kind's name; NULL past the last kind. */
const char *nn_spec_grammar(int i, const char **name);

/* The spec of a named preset ("mlp", "lenet", "deep", "deep-bn", "vgg",
 * "vgg-gap", "resnet20", "resnet-small"), or NULL. */
const char *nn_spec_preset(const char *name);
/* The name of the i-th preset (0, 1, ...); NULL past the last. */
const char *nn_spec_preset_name(int i);
/* Appends the layers of a spec (or preset name) to an unbuilt net. On
 * failure msg (when not NULL) says which token is wrong and why. */
nn_status nn_net_add_spec(nn_net *net, const char *spec, char *msg,
                          size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* NN_NET_H */
