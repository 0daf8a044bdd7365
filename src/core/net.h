/* What the net offers the library's other subsystems beyond nn.h and
 * nn/advanced.h. */
#ifndef NN_CORE_NET_H
#define NN_CORE_NET_H

#include <stddef.h>

#include "core/threads.h"
#include "nn.h"
#include "nn/advanced.h"

/* The net's thread pool (NULL when it runs on one thread), for work on its
 * tensors outside the layers: the optimizer's step. */
nn_pool *nn_net_pool(const nn_net *net);

/* What nn_net_build would allocate for parameters and state, without
 * allocating: lets a loader check a file's counts first. */
nn_status nn_net_plan(nn_net *net, int max_batch, size_t *params,
                      size_t *state);

/* Bytes nn_net_build (training = 1) or nn_net_build_inference (0) would
 * allocate for batches of up to max_batch with the threads set so far,
 * without allocating; NN_EOVERFLOW when the sizes overflow. */
nn_status nn_net_plan_bytes(nn_net *net, int max_batch, int training,
                            size_t *bytes);

/* Sums across processes for the passes that follow (NULL: alone, the
 * default). Batchnorm in training mode adds its statistics through it. */
void nn_net_set_group(nn_net *net, const nn_group *group);
/* Like nn_net_forward, for shards [first, last) of a batch of `total`
 * samples (the input holds just those: nn_shard_start(total, shards, last)
 * - nn_shard_start(total, shards, first) of them). The backward pass and
 * the losses that follow treat them as part of that batch: losses average
 * over `total`, batchnorm's statistics are the whole batch's (through the
 * group), dropout's masks are those of the samples' places in it.
 * nn_net_forward(net, n) is nn_net_forward_part(net, n, 0, shards). */
nn_status nn_net_forward_part(nn_net *net, int total, int first, int last);

#endif /* NN_CORE_NET_H */
