/* The net's insides, shared by the files that make up the net
 * (src/net/net.c, net_build.c, net_run.c) and nothing else. */
#ifndef NN_NET_NET_INTERNAL_H
#define NN_NET_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "core/threads.h"
#include "layers/layer.h"
#include "nn.h"

#define NN_ALIGN 64

/* Most floats of activations one sample may need, all layers together. */
#define NN_MAX_SAMPLE_FLOATS ((size_t)1 << 27)

/* A caller's buffer that a net carves all of its memory from instead of
 * the heap: every piece starts NN_ALIGN-aligned and takes a multiple of
 * NN_ALIGN bytes, so what a net uses does not depend on the order. */
typedef struct {
    unsigned char *base; /* NN_ALIGN-aligned */
    size_t size, used;
} nn_arena;

struct nn_net {
    int in_c, in_h, in_w;
    nn_arena arena;        /* base NULL: the net lives on the heap */
    nn_layer **layers;
    int count, capacity;
    nn_status error;       /* first error met while adding layers (sticky) */
    char why[512];         /* what the last failed add or build met */
    int input_last_reader; /* the last layer reading the net's input */
    float *stage;          /* (stage_floats): the input gradient of a layer
                              that sets it, when others add to it too */
    size_t stage_floats;
    int built, max_batch, batch, training, input_grad;
    int inference_only;    /* built without gradients */
    /* Moved by every call that hands out writable parameters or state, or
     * refills them (nn_net_params, nn_net_layer_params, nn_net_state,
     * nn_net_init); a net built for inference remakes its folded weights
     * and kernel forms before a forward pass when it differs from
     * prepared_version, the value they were made at. */
    uint64_t weights_version, prepared_version;
    float *folded;         /* (n_folded) the layers' folded parameters */
    size_t n_folded;
    size_t n_params, n_state;
    float *params, *grads; /* (n_params) flat, layer after layer */
    float *state;          /* (n_state) batchnorm running statistics */
    unsigned char *cache;  /* per-layer forward-to-backward memory */
    float *acts;           /* values of every activation, one after another */
    float *act_grads;      /* their gradients (training): the input's, then
                              slots that outputs share, then the output's */
    float *scratch;        /* (threads, scratch_stride) shared by all layers */
    size_t scratch_stride; /* the largest layer's scratch need */
    float *partials;       /* (nn_net_partial_count, partials_stride) */
    size_t partials_stride; /* the largest layer's partials of one shard */
    int shards;            /* nn_net_set_shards */
    /* The last forward's shards [shard_first, shard_last) of a batch of
     * batch_total samples (0: no forward since the batch last changed),
     * and what the layers are told of them. */
    int batch_total, shard_first, shard_last;
    int bounds[NN_SHARDS_MAX + 1]; /* their starts in the input */
    nn_batch_shards pass;
    const nn_group *group; /* sums across processes, or NULL */
    nn_status group_error; /* the first failed sum of the last pass */
    nn_pool *pool;         /* NULL when single-threaded */
    int threads;
    nn_kernels kernels;    /* which kernels forward and backward run */
    uint64_t noise_seed, noise_pass; /* counter-based noise (dropout) */
    float mean[3], std[3]; /* input normalisation, carried by model files */
    float *probs;          /* (max_batch, classes) softmax output */
    nn_tensor *tensors;    /* count + 1: input, then each layer's output */
};

/* How many partial buffers a net of `shards` shards needs: one per piece
 * of a shard (nn_shard_pieces) of the whole batch (net.c). */
int nn_net_partial_count(int shards);
/* 1 when the net's passes run the AVX2+FMA kernels: NN_KERNELS_AUTO on a
 * CPU that has them (net_run.c). */
int nn_net_runs_avx2(const nn_net *net);
/* Frees every arena and sets the pointers to NULL (net_build.c, net.c). */
void nn_net_free_arenas(nn_net *net);
/* The last layer reading tensor t (0: the input, j + 1: layer j's output);
 * -1 for the net's output (net_build.c). */
int nn_net_last_reader(const nn_net *net, int t);
/* 1 when layer i's backward writes its input gradient into net->stage
 * (it would overwrite what a later reader added; net_build.c). */
int nn_net_stages(const nn_net *net, int i);
/* The shape of tensor t: 0 the input, j + 1 layer j's output. */
void nn_net_tensor_shape(const nn_net *net, int t, int shape[3]);
/* 64-byte aligned, zeroed; n counts floats. NULL on failure. */
float *nn_alloc_floats(size_t n);
/* bytes from the arena, zeroed and NN_ALIGN-aligned; NULL when they do
 * not fit (net_build.c). */
void *nn_arena_take(nn_arena *arena, size_t bytes);
/* What nn_arena_take takes for `bytes`: rounded up to NN_ALIGN; 0 when
 * that overflows (net_build.c). */
size_t nn_arena_piece(size_t bytes);

#endif /* NN_NET_NET_INTERNAL_H */
