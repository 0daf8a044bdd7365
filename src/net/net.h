/* What the net offers the library's other subsystems beyond nn.h and
 * nn/advanced.h. */
#ifndef NN_NET_NET_H
#define NN_NET_NET_H

#include <stddef.h>

#include "core/threads.h"
#include "nn.h"
#include "nn/advanced.h"

struct nn_layer_kind; /* src/layers/layer.h */

/* Appends a layer of kind with args (checked; NULL: the kind's defaults)
 * to an unbuilt net, keeping the first error. */
nn_status nn_net_add_kind(nn_net *net, const struct nn_layer_kind *kind,
                          const nn_layer_args *args);

/* Appends a layer of kind reading tensors reads[0..count) (NULL: the
 * previous output), keeping the first error (src/net/net.c). */
nn_status nn_net_add_reading(nn_net *net, const struct nn_layer_kind *kind,
                             const nn_layer_args *args, const int *reads,
                             int count);
/* The first error met while adding layers (NN_OK when none). */
nn_status nn_net_first_error(const nn_net *net);
/* Removes the layers from `count` on and sets the first error back to
 * `error`: undoes a spec that failed half way (src/net/net.c). */
void nn_net_truncate(nn_net *net, int count, nn_status error);

/* The parameters and the state, read only: unlike nn_net_params and
 * nn_net_state these do not mark them changed (src/net/net.c). */
const float *nn_net_params_read(const nn_net *net);
const float *nn_net_state_read(const nn_net *net);

/* The net's thread pool (NULL when it runs on one thread), for work on its
 * tensors outside the layers: the optimizer's step. */
nn_pool *nn_net_pool(const nn_net *net);

/* Advances the net's noise counter: the next forward pass draws new
 * dropout masks (one set per optimizer step: nn_optim_step calls it). */
void nn_net_next_noise(nn_net *net);

/* What nn_net_build would allocate for parameters and state, without
 * allocating: lets a loader check a file's counts first. */
nn_status nn_net_plan(nn_net *net, int max_batch, size_t *params,
                      size_t *state);

/* Bytes nn_net_build (training = 1) or nn_net_build_inference (0) would
 * allocate for batches of up to max_batch with the threads set so far,
 * without allocating; NN_EOVERFLOW when the sizes overflow. */
nn_status nn_net_plan_bytes(nn_net *net, int max_batch, int training,
                            size_t *bytes);

/* Creates an empty net for inputs (c, h, w) inside buffer [buffer,
 * buffer + size): the net, its layers and, once built (for inference
 * only), every arena are carved from it and nn_net_destroy frees nothing.
 * The net starts at the first NN_ALIGN-aligned byte. NN_ENOMEM when the
 * net does not fit. */
nn_status nn_net_create_in(int c, int h, int w, void *buffer, size_t size,
                           nn_net **out);
/* bytes from an in-buffer net's buffer (zeroed, aligned; a spec copy,
 * say), or NULL when they do not fit or the net is on the heap. */
void *nn_net_take(nn_net *net, size_t bytes);
/* Bytes of the buffer an in-buffer net has used so far. */
size_t nn_net_buffer_used(const nn_net *net);
/* Bytes nn_net_build_inference(net, max_batch, ...) takes from an
 * in-buffer net's buffer, after what it has used, without allocating. */
nn_status nn_net_infer_bytes(nn_net *net, int max_batch, size_t *bytes);

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

#endif /* NN_NET_NET_H */
