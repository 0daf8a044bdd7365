/* The thread pool and the fixed cuts of work that keep results
 * bit-identical for any number of threads (src/core/threads.c). */
#ifndef NN_CORE_THREADS_H
#define NN_CORE_THREADS_H

#include <stddef.h>

#include "nn.h"
#include "nn/advanced.h"

/* Most threads a net may use. */
#define NN_MAX_THREADS 64
/* Work is cut into pieces whose number depends on the shapes only, never on
 * the thread count: that is what keeps results bit-identical for any number
 * of threads. Parameter-gradient reductions use NN_PIECES partial sums that
 * are added up in a fixed order. */
#define NN_PIECES 8

typedef struct nn_pool nn_pool;
/* One task of a parallel job; thread (0..threads-1) picks scratch space. */
typedef void (*nn_task_fn)(void *ctx, int task, int thread);

/* A pool with threads - 1 workers (the caller is the last thread). */
nn_status nn_pool_create(int threads, nn_pool **out);
/* Stops the workers and frees the pool (NULL is allowed). */
void nn_pool_destroy(nn_pool *pool);
/* Runs fn(ctx, t, thread) for t in 0..tasks-1 and waits for all of them;
 * a NULL pool runs them in order on the calling thread. */
void nn_pool_run(nn_pool *pool, int tasks, nn_task_fn fn, void *ctx);

/* How many pieces each of `shards` shards of a batch is cut into for a
 * reduction that wants NN_PIECES pieces in all: the largest power of two
 * <= NN_PIECES / shards, at least 1. A power of two, so that the tree over
 * all pieces is the tree over the shards' own trees. */
int nn_shard_pieces(int shards);

/* [first, last) of piece `piece` when n items are cut into `pieces` pieces. */
void nn_split(int n, int pieces, int piece, int *first, int *last);
/* The same for a count of values (element-wise work over a whole tensor). */
void nn_split_size(size_t n, int pieces, int piece, size_t *first,
                   size_t *last);
/* The shards of the batch a pass runs. A batch of `total` samples is cut
 * into `all_shards` shards (nn_shard_start); a pass runs the consecutive
 * shards of one process, so its input holds samples [offset, offset +
 * bounds[shards]) of the batch, shard s at [bounds[s], bounds[s + 1]). Sums
 * over the batch are made per shard, added as a tree, then across the
 * processes of `group`. */
typedef struct {
    int shards;             /* shards this pass runs */
    const int *bounds;      /* (shards + 1) their starts in the pass's input */
    int all_shards;         /* the whole batch's (nn_net_shards) */
    int total;              /* samples in the whole batch */
    int offset;             /* the whole batch's index of the input's sample 0 */
    const nn_group *group;  /* NULL: one process */
    nn_status *group_error; /* where the first failed sum is recorded */
} nn_batch_shards;

/* Adds count floats (or doubles) at values across the processes of the
 * batch's group, in place; nothing when there is no group. A failure is
 * recorded in *group_error when none was before. */
void nn_batch_group_sum(const nn_batch_shards *batch, void *values,
                        size_t count, int doubles);

/* grads[i] += the pairwise tree over c < count of partials[c * stride + i]
 * (c = 0+1, 2+3, ..., then those sums pairwise, an odd last one carried up:
 * the order of nn_group), for n values; parallel over fixed blocks of i.
 * The partials are used as workspace. */
void nn_reduce_tree(nn_pool *pool, float *partials, float *grads, int count,
                    size_t stride, size_t n);
/* The same tree for values [first, last) of each partial, left in
 * partials[i]. */
void nn_tree_floats(float *partials, int count, size_t stride, size_t first,
                    size_t last);
/* The same tree over count doubles partials[c * stride + i] for i < n. */
void nn_tree_doubles(double *partials, int count, size_t stride, size_t n);

#endif /* NN_CORE_THREADS_H */
