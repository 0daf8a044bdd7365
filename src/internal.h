/* Internal declarations shared by the library's source files. */
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

#include "nn.h"

#include <stddef.h>

/* Memory a layer asks the net for, counted in floats (cache in bytes). */
typedef struct {
    size_t params;  /* trainable values: weights first, then biases */
    size_t decayed; /* how many leading params weight decay applies to */
    size_t state;   /* non-trainable values kept in model files */
    size_t cache;   /* bytes kept from forward to backward, for max_batch */
    size_t scratch; /* floats of temporary space, shared by all layers */
} nn_layer_sizes;

/* What a forward or backward call may use besides its tensors. */
typedef struct {
    float *scratch; /* shared buffer, sized by the largest layer's need */
    int training;   /* 1 in training mode */
} nn_exec;

typedef struct nn_layer nn_layer;

/* The verbs every layer implements. */
typedef struct {
    const char *name;
    /* Output shape for input (c, h, w); NN_ESHAPE when they do not fit. */
    nn_status (*reshape)(nn_layer *layer);
    /* Memory needs for batches up to max_batch (after reshape). */
    void (*sizes)(const nn_layer *layer, int max_batch, nn_layer_sizes *out);
    /* Fills params and state; he = 1 when a relu follows. */
    void (*init)(nn_layer *layer, nn_rng *rng, int he);
    void (*forward)(nn_layer *layer, const nn_tensor *in, nn_tensor *out,
                    const nn_exec *ex);
    /* Accumulates into parameter gradients and in->g (when not NULL). */
    void (*backward)(nn_layer *layer, const nn_tensor *in,
                     const nn_tensor *out, const nn_exec *ex);
    /* The layer as an architecture-spec token ("conv3x3x16p1"), like snprintf. */
    int (*describe)(const nn_layer *layer, char *buf, size_t size);
} nn_layer_ops;

/* The part every concrete layer starts with. */
struct nn_layer {
    const nn_layer_ops *ops;
    int in_c, in_h, in_w;    /* one sample's input shape */
    int out_c, out_h, out_w; /* one sample's output shape */
    float *params, *grads;   /* views into the net's flat arrays */
    float *state;            /* batchnorm running statistics */
    void *cache;             /* forward-to-backward memory */
    nn_layer_sizes sizes;
};

/* Concrete constructors: they allocate the layer object only. */
nn_status nn_dense_create(int out, nn_layer **layer);
nn_status nn_conv2d_create(int out_channels, int kh, int kw, int stride,
                           int pad, nn_layer **layer);
nn_status nn_relu_create(nn_layer **layer);
nn_status nn_sigmoid_create(nn_layer **layer);
nn_status nn_tanh_create(nn_layer **layer);
nn_status nn_maxpool_create(int k, int stride, nn_layer **layer);
nn_status nn_batchnorm_create(nn_layer **layer);

/* Weight initialisation over n values with the given fans. */
void nn_init_weights(float *w, size_t n, int fan_in, int fan_out, int he,
                     nn_rng *rng);

/* a * b into *out; 0 on overflow of size_t. */
int nn_mul_size(size_t a, size_t b, size_t *out);

#endif /* NN_INTERNAL_H */
