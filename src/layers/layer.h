/* What every layer kind provides, and what the net gives a layer while it
 * runs. Each kind lives in one file, src/layers/layer_<name>.c: its pure
 * kernels first (forward above backward), then its adapter, then one
 * nn_layer_kind value that says everything else about it. src/layers/
 * layers.c lists the kinds; the spec parser, the net, model files and the
 * tools read that list and never compare a layer's name. */
#ifndef NN_LAYERS_LAYER_H
#define NN_LAYERS_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "core/spec.h"
#include "core/threads.h"
#include "nn.h"
#include "nn/advanced.h"

/* The epsilon of batchnorm's variance: x_hat = (x - mean) / sqrt(var + eps). */
#define NN_BATCHNORM_EPS 1e-5f

/* Memory a layer asks the net for, counted in floats (cache in bytes). */
typedef struct {
    size_t params;   /* trainable values: weights first, then biases */
    size_t decayed;  /* how many leading params weight decay applies to */
    size_t state;    /* non-trainable values kept in model files */
    size_t cache;    /* bytes kept from forward to backward, for max_batch */
    size_t scratch;  /* floats of temporary space, shared by all layers */
    size_t partials; /* floats of one shard's partial parameter gradients */
} nn_layer_sizes;

/* What a forward or backward call may use besides its tensors. */
typedef struct {
    float *scratch;        /* per thread: scratch + thread * scratch_stride */
    size_t scratch_stride; /* floats of scratch each thread owns */
    float *partials;       /* shards x the largest layer's partials */
    nn_pool *pool;         /* NULL: single-threaded */
    int training;          /* 1 in training mode */
    nn_kernels kernels;    /* the net's choice of kernels */
    nn_sgemm_fn sgemm;     /* the gemm path that choice runs */
    int avx2;              /* 1: AVX2+FMA kernels may run */
    int inference;         /* 1 in a net built for inference: what the
                              layers' prepare op made from the weights is
                              current, forward reads it */
    uint64_t noise_key;    /* this pass's key for counter-based noise (dropout) */
    /* The shards of the pass: every sum over the batch is made per shard,
     * then the shards' sums are added as a tree (core/threads.h). */
    const nn_batch_shards *batch;
} nn_exec;

typedef struct nn_layer nn_layer;

/* The verbs every layer implements. */
typedef struct {
    /* Output shape for input (c, h, w); NN_ESHAPE when they do not fit. */
    nn_status (*reshape)(nn_layer *layer);
    /* Memory needs for batches up to max_batch (after reshape); NULL: none. */
    void (*sizes)(const nn_layer *layer, int max_batch, nn_layer_sizes *out);
    /* Fills params and state; gain2 is the squared He gain of the
     * activation that follows (0: none, use Xavier). NULL: nothing to do. */
    void (*init)(nn_layer *layer, nn_rng *rng, float gain2);
    /* `in` is the layer's input (with NN_KIND_JOIN its inputs: in[0],
     * in[1], ...). */
    void (*forward)(nn_layer *layer, const nn_tensor *in, nn_tensor *out,
                    const nn_exec *ex);
    /* Accumulates into parameter gradients and in->g (when not NULL; with
     * NN_KIND_SETS_INPUT_GRAD it writes in->g instead). */
    void (*backward)(nn_layer *layer, const nn_tensor *in,
                     const nn_tensor *out, const nn_exec *ex);
    /* NN_ESHAPE when a forward pass of `batch` samples in that mode would
     * be meaningless (batchnorm's statistics of one value); NULL: any
     * batch will do. */
    nn_status (*check_batch)(const nn_layer *layer, int batch, int training);
    /* In a net built for inference, once after its weights changed: makes
     * the forms of forward_params that forward reads (Winograd's U) instead
     * of making them on each call. NULL: nothing to make. */
    void (*prepare)(nn_layer *layer, const nn_exec *ex);
    /* folded (sizes.params) = params with the per-channel map of `next`
     * (its channel_affine) applied to each output channel o:
     * w[o] * scale[o], b[o] * scale[o] + shift[o]. NULL: cannot fold. */
    void (*fold)(const nn_layer *layer, const nn_layer *next, float *folded);
    /* At inference the layer is y = scale * x + shift on each channel:
     * that channel's scale and shift. NULL: it is not such a map. */
    void (*channel_affine)(const nn_layer *layer, int channel, float *scale,
                           float *shift);
} nn_layer_ops;

/* Properties of a kind (nn_layer_kind.flags). */
enum {
    NN_KIND_TRANSPARENT = 1,    /* initialisation looks through it for the
                                   activation that follows (batchnorm,
                                   dropout) */
    NN_KIND_SETS_INPUT_GRAD = 2, /* backward writes every value of in->g
                                    instead of adding to it, so the net
                                    does not clear it first (relu,
                                    batchnorm) */
    NN_KIND_JOIN = 4,           /* reads two or more outputs: forward and
                                   backward get `in` as an array of
                                   layer->inputs tensors (add, concat) */
    NN_KIND_RELU = 8,           /* y = x if x > 0 or NaN, else 0 (relu) */
    NN_KIND_FUSES_RELU = 16,    /* in a net built for inference its forward
                                   can apply a relu that follows to its
                                   own output (layer->relu_to) */
    NN_KIND_FUSES_RELU_TRAINING = 32, /* in a net built for training too: its
                                   forward can write relu(y) into the
                                   relu's output, and its backward take
                                   the relu's output gradient and mask
                                   (layer->relu_to, relu_applied) */
    NN_KIND_MASKS_IN_PLACE = 64 /* with FUSES_RELU_TRAINING: its backward
                                   applies the mask to the relu's output
                                   gradient in place, so the relu must not
                                   be the net's last layer (whose output
                                   gradient callers read) */
};

/* How a kind is written in a spec ("conv3x3x16p1"): its grammar, and how
 * its hyper-parameters are read, printed and checked. */
typedef struct {
    const char *token;   /* canonical spec token (or its prefix): "conv" */
    const char *alias;   /* another spelling of the token, or NULL */
    const char *grammar; /* for messages: "convKxKxN[sS][pP]" */
    /* Reads the hyper-parameters after the token into args (which starts
     * from the defaults); 0 with c->why set when wrong. NULL: the token is
     * the whole spec of the layer. */
    int (*parse)(nn_spec_cursor *c, nn_layer_args *args);
    /* The canonical token for args, like snprintf. NULL: just `token`. */
    int (*print)(const nn_layer_args *args, char *buf, size_t size);
    /* NN_EINVAL when args are out of range (for nn_net_add_layer). */
    nn_status (*check)(const nn_layer_args *args);
    nn_layer_args defaults; /* what a bare token means */
} nn_layer_spec;

/* What the tools ask of a kind besides running it. */
typedef struct {
    /* The named tensors of params then state, as model files and exports
     * lay them out; returns how many (at most NN_MAX_FIELDS). NULL: none. */
    int (*fields)(const nn_layer *layer, nn_layer_field *out);
    /* Multiply-adds of one sample as ex's kernels run them, and as direct
     * convolution (nn_net_layer_macs); NULL: none counted (element-wise). */
    void (*macs)(const nn_layer *layer, const nn_exec *ex, int input_grad,
                 nn_layer_macs *out);
} nn_layer_describe;

/* Everything about one kind of layer, in labelled parts: written as
 * designated initializers in the kind's file. How a kind maps to ONNX
 * operators is src/io/'s (src/io/onnx_layers.c), so that the layers do not
 * depend on the file formats. */
typedef struct nn_layer_kind {
    const char *name;    /* in tables and nn_layer_info: "conv2d" */
    unsigned flags;      /* NN_KIND_* */
    size_t object_size;  /* bytes of the layer object, nn_layer first */
    nn_layer_spec spec;  /* spec token and hyper-parameters */
    nn_layer_ops ops;    /* shape, memory, initialisation, the passes */
    /* Squared He gain this activation asks of the layer before it
     * (2 for relu); NULL: not an activation. */
    float (*gain2)(const nn_layer_args *args);
    nn_layer_describe describe; /* named tensors and multiply-add counts */
    const void *impl;    /* what the kind's own ops read (kernel pairs) */
} nn_layer_kind;

/* The part every concrete layer starts with. */
struct nn_layer {
    const nn_layer_kind *kind;
    nn_layer_args args;      /* hyper-parameters */
    char name[NN_NAME_SIZE]; /* "" unless named */
    int inputs;              /* how many tensors it reads */
    int reads[NN_MAX_INPUTS]; /* the net's tensors it reads: 0 the input,
                                j + 1 layer j's output */
    int in_shape[NN_MAX_INPUTS][3]; /* each input's (c, h, w) */
    int first_reader;        /* the first layer reading its output, and */
    int last_reader;         /* the last; both -1 for the net's output */
    /* Where its output's gradient lives in the net's gradient arena, which
     * outputs whose gradients are never needed at once share (the net's
     * planner; the slot fields are its bookkeeping). */
    size_t grad_at;
    /* Where its output's values live in the net's value arena (after
     * nn_net_build_inference those of outputs never needed at once share
     * memory too). */
    size_t value_at;
    int grad_slot;           /* the slot its output's gradient (or, in a
                                net built for inference, values) is in */
    int slot_tensor;         /* slot numbered like this layer: its tensor */
    size_t slot_floats, slot_at; /* that slot's size and place */
    size_t slot_place;       /* where the planner put its output */
    int in_c, in_h, in_w;    /* one sample's input shape (the first's) */
    int out_c, out_h, out_w; /* one sample's output shape */
    float *params, *grads;   /* views into the net's flat arrays (grads NULL
                                in a net built for inference) */
    float *state;            /* batchnorm running statistics */
    /* What forward reads as the parameters: params, or in a net built for
     * inference the copy with the next layer's channel map folded in. */
    const float *forward_params;
    float *folded;           /* that copy (sizes.params), or NULL */
    int fold_to;             /* the layer folded into this one (it writes
                                that layer's output), or -1 */
    int folded_into;         /* the layer doing this one's work, or -1 */
    int relu_to;             /* the relu this layer applies to its output
                                and whose output it writes, or -1 */
    int relu_applied;        /* set by the net before each forward: 1 when
                                this pass applies relu_to's relu (that
                                relu's forward and backward do not run, the
                                layer's own output is not written), 0 when
                                the two run apart (NN_KERNELS_REFERENCE,
                                inference mode of a net built for
                                training) */
    void *cache;             /* forward-to-backward memory */
    nn_layer_sizes sizes;
};

/* The losses' gradients for n rows of a batch of `total` (the mean is
 * over total): nn_softmax_xent_backward and nn_mse_backward are these with
 * total = n (src/layers/loss_softmax.c, loss_mse.c). */
nn_status nn_softmax_xent_backward_of(const float *probs, const int *labels,
                                      float *dlogits, int n, int total,
                                      int classes);
void nn_mse_backward_of(const float *y, const float *target, float *dy, int n,
                        int total, int features);

/* probs = softmax(logits) row by row, (n, classes), as
 * nn_softmax_xent_forward computes it (src/layers/loss_softmax.c). */
void nn_softmax_rows(const float *logits, float *probs, int n, int classes);

/* Every kind, NULL-terminated (src/layers/layers.c). */
extern const nn_layer_kind *const nn_layer_kinds[];
/* The kinds, one per file src/layers/layer_<name>.c. */
extern const nn_layer_kind nn_kind_conv2d, nn_kind_dense, nn_kind_maxpool,
    nn_kind_relu, nn_kind_sigmoid, nn_kind_tanh, nn_kind_batchnorm,
    nn_kind_avgpool, nn_kind_global_avgpool, nn_kind_leakyrelu, nn_kind_dropout,
    nn_kind_add, nn_kind_concat;

/* The kind whose token or alias starts the text [start, end) longest (a
 * kind without parameters only when it is the whole text), and that
 * prefix's length; NULL when none does. */
const nn_layer_kind *nn_layer_kind_match(const char *start, const char *end,
                                         size_t *prefix);
/* The layer's canonical spec token, like snprintf. */
int nn_layer_print(const nn_layer *layer, char *buf, size_t size);

/* An element-wise kernel pair, with the layer's slope (leaky relu's;
 * unused by relu, sigmoid and tanh). */
typedef struct {
    void (*forward)(const float *x, float *y, size_t count, float slope);
    void (*backward)(const float *y, const float *dy, float *dx, size_t count,
                     float slope);
} nn_activation_kernels;
/* forward and backward ops of an activation whose kind's impl is its
 * nn_activation_kernels (src/layers/layer_activation.c). */
void nn_activation_forward(nn_layer *layer, const nn_tensor *in,
                           nn_tensor *out, const nn_exec *ex);
void nn_activation_backward(nn_layer *layer, const nn_tensor *in,
                            const nn_tensor *out, const nn_exec *ex);

/* Floats of scratch the conv kernels need: in_c*kh*kw * out_h*out_w
 * (src/layers/layer_conv2d.c). */
size_t nn_conv2d_scratch(const nn_conv2d_shape *s);
/* Dropout's mask (src/layers/layer_dropout.c): element j of a pass is kept
 * when a hash of (key, j) in [0, 1) is >= rate, so any split of the pass
 * between threads or calls gives the same mask; the caller derives key from
 * (seed, step). mask[i] = 1 if element first+i is kept, else 0, for
 * i < count. */
void nn_dropout_mask(uint64_t key, size_t first, size_t count, float rate,
                     uint8_t *mask);

/* fold for layers whose params are a (rows, per_row) weight then a bias
 * of rows (conv2d, dense): row o scaled by next's scale[o], bias mapped
 * by it (src/layers/layer.c). */
void nn_fold_rows(const nn_layer *layer, const nn_layer *next, float *folded,
                  int rows, size_t per_row);

/* y = x if x > 0 or NaN, else 0, in place over count values: relu's
 * forward, for a layer applying the relu after it (src/layers/layer.c). */
void nn_relu_in_place(float *y, size_t count);
/* g = g [y > 0], the relu's backward on its own output gradient: the very
 * select of the relu layer's backward, so the bits are those of the two
 * layers run apart. */
void nn_relu_mask_in_place(const float *y, float *g, size_t count);

/* reshape for layers whose output has the input's shape
 * (src/layers/layer.c, as nn_init_weights). */
nn_status nn_layer_same_shape(nn_layer *layer);
/* Weight initialisation over n values with the given fans: He (normal, std
 * sqrt(gain2 / fan_in)) when gain2 > 0, else Xavier (uniform in
 * +-sqrt(6 / (fan_in + fan_out))). */
void nn_init_weights(float *w, size_t n, int fan_in, int fan_out, float gain2,
                     nn_rng *rng);

#endif /* NN_LAYERS_LAYER_H */
