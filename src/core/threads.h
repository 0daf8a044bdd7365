/* The thread pool and the fixed cuts of work that keep results
 * bit-identical for any number of threads (src/core/threads.c). */
#ifndef NN_CORE_THREADS_H
#define NN_CORE_THREADS_H

#include <stddef.h>

#include "nn.h"

/* Most threads a net may use. */
#define NN_MAX_THREADS 64
/* Work is cut into pieces whose number depends on the shapes only, never on
 * the thread count: that is what keeps results bit-identical for any number
 * of threads. Parameter-gradient reductions use NN_CHUNKS partial sums that
 * are added up in a fixed order. */
#define NN_CHUNKS 8

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
 * reduction that wants NN_CHUNKS pieces in all: the largest power of two
 * <= NN_CHUNKS / shards, at least 1. A power of two, so that the tree over
 * all pieces is the tree over the shards' own trees. */
int nn_shard_pieces(int shards);

/* [first, last) of piece `part` when n items are cut into `parts` pieces. */
void nn_split(int n, int parts, int part, int *first, int *last);
/* The same for a count of values (element-wise work over a whole tensor). */
void nn_split_size(size_t n, int parts, int part, size_t *first, size_t *last);
/* grads[i] += the pairwise tree over c < chunks of partials[c * stride + i]
 * (c = 0+1, 2+3, ..., then those sums pairwise, an odd last one carried up:
 * the order of nn_group), for n values; parallel over fixed blocks of i.
 * The partials are used as workspace. */
void nn_reduce_tree(nn_pool *pool, float *partials, float *grads, int chunks,
                    size_t stride, size_t n);
/* The same tree for values [first, last) of each part, left in parts[i]. */
void nn_tree_floats(float *parts, int count, size_t stride, size_t first,
                    size_t last);
/* The same tree over count doubles parts[c * stride + i] for i < n. */
void nn_tree_doubles(double *parts, int count, size_t stride, size_t n);

#endif /* NN_CORE_THREADS_H */
