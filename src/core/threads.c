/* A small POSIX-thread pool. nn_pool_run hands out tasks 0..tasks-1 to the
 * calling thread and the workers and returns when all are done. Tasks must
 * write disjoint memory; which thread runs a task never changes its result,
 * so results do not depend on the number of threads.
 *
 * A net runs one job per layer and pass, often a few microseconds apart,
 * and waking a sleeping thread takes tens of microseconds. So a worker
 * that has finished a job, and a caller waiting for the last task, first
 * watch for the next event for a short while (SPIN_NS) without the lock,
 * and only then sleep on a condition variable. */
#include "core/threads.h"
#include "core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* How long a thread watches for work (or for the end of a job) before it
 * sleeps: long enough to bridge the serial code between two layers. */
#define SPIN_NS 200000L

struct nn_pool {
    int threads;              /* workers + the caller */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    nn_task_fn fn;
    void *ctx;
    int tasks;                 /* tasks of the current job */
    int next[NN_MAX_THREADS];  /* thread t's share is [next[t], end[t]) */
    int end[NN_MAX_THREADS];
    atomic_int finished;       /* tasks of the current job completed */
    atomic_int busy;           /* workers inside the current job */
    atomic_ulong generation;   /* bumped for every job */
    atomic_int stop;
};

/* Spins until done(pool, arg) or SPIN_NS have passed; 1 when done. */
static int spin_until(const nn_pool *pool, unsigned long arg,
                      int (*done)(const nn_pool *, unsigned long))
{
    int64_t start = nn_clock_ns();
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (done(pool, arg))
                return 1;
            CPU_RELAX();
        }
        if (nn_clock_ns() - start > SPIN_NS)
            return 0;
    }
}

/* A job after generation `seen` was posted, or the pool is stopping. */
static int job_posted(const nn_pool *pool, unsigned long seen)
{
    return atomic_load(&pool->stop) || atomic_load(&pool->generation) != seen;
}

/* Every task of the current job is done and every worker has left it. */
static int job_done(const nn_pool *pool, unsigned long tasks)
{
    return atomic_load(&pool->finished) == (int)tasks &&
           atomic_load(&pool->busy) == 0;
}

/* The next task for `thread`, or -1 when none is left; lock held. Each
 * thread owns an equal run of consecutive tasks and takes them in order;
 * once its run is done it takes the last task of the longest run left.
 * Jobs cut the same tensors the same way (images, planes, elements in
 * order), so a thread mostly reads what it wrote in the previous layer,
 * still in its own cache, and a thread that starts late is not waited
 * for. */
static int take_task(nn_pool *pool, int thread)
{
    int victim = thread;
    if (pool->next[thread] < pool->end[thread])
        return pool->next[thread]++;
    for (int t = 0; t < pool->threads; t++)
        if (pool->end[t] - pool->next[t] > pool->end[victim] - pool->next[victim])
            victim = t;
    if (pool->next[victim] == pool->end[victim])
        return -1;
    return --pool->end[victim];
}

/* Takes tasks of the current job until none is left; lock held on entry
 * and on return. */
static void drain(nn_pool *pool, int thread)
{
    int task;
    while ((task = take_task(pool, thread)) >= 0) {
        pthread_mutex_unlock(&pool->lock);
        pool->fn(pool->ctx, task, thread);
        pthread_mutex_lock(&pool->lock);
        if (atomic_fetch_add(&pool->finished, 1) + 1 == pool->tasks)
            pthread_cond_broadcast(&pool->done);
    }
}

typedef struct {
    nn_pool *pool;
    int index;
} worker_arg;

static void *worker_main(void *p)
{
    worker_arg *arg = p;
    nn_pool *pool = arg->pool;
    int thread = arg->index;
    unsigned long seen = 0;
    free(arg);
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        if (!job_posted(pool, seen)) {
            pthread_mutex_unlock(&pool->lock);
            spin_until(pool, seen, job_posted);
            pthread_mutex_lock(&pool->lock);
        }
        while (!job_posted(pool, seen))
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (atomic_load(&pool->stop))
            break;
        seen = atomic_load(&pool->generation);
        atomic_fetch_add(&pool->busy, 1);
        drain(pool, thread);
        if (atomic_fetch_sub(&pool->busy, 1) == 1)
            pthread_cond_broadcast(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

void nn_pool_destroy(nn_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stop, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 1; i < pool->threads; i++)
        pthread_join(pool->workers[i - 1], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->lock);
    free(pool->workers);
    free(pool);
}

nn_status nn_pool_create(int threads, nn_pool **out)
{
    nn_pool *pool;
    *out = NULL;
    if (threads < 1 || threads > NN_MAX_THREADS)
        return NN_EINVAL;
    pool = calloc(1, sizeof *pool);
    if (!pool)
        return NN_ENOMEM;
    pool->workers = calloc((size_t)threads, sizeof *pool->workers);
    if (!pool->workers) {
        free(pool);
        return NN_ENOMEM;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->threads = 1;
    for (int i = 1; i < threads; i++) {
        worker_arg *arg = malloc(sizeof *arg);
        if (!arg || (arg->pool = pool, arg->index = i,
                     pthread_create(&pool->workers[i - 1], NULL, worker_main, arg))) {
            free(arg);
            nn_pool_destroy(pool);
            return NN_ENOMEM;
        }
        pool->threads++;
    }
    *out = pool;
    return NN_OK;
}

void nn_pool_run(nn_pool *pool, int tasks, nn_task_fn fn, void *ctx)
{
    if (!pool || pool->threads == 1 || tasks <= 1) {
        for (int t = 0; t < tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->tasks = tasks;
    for (int t = 0; t < pool->threads; t++)
        nn_split(tasks, pool->threads, t, &pool->next[t], &pool->end[t]);
    atomic_store(&pool->finished, 0);
    atomic_fetch_add(&pool->generation, 1);
    pthread_cond_broadcast(&pool->wake);
    drain(pool, 0);
    /* Wait for the last task, and for every worker to leave this job
     * before the next one may reset the counters. */
    if (!job_done(pool, (unsigned long)tasks)) {
        pthread_mutex_unlock(&pool->lock);
        spin_until(pool, (unsigned long)tasks, job_done);
        pthread_mutex_lock(&pool->lock);
    }
    while (!job_done(pool, (unsigned long)tasks))
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}

int nn_shard_pieces(int shards)
{
    int pieces = 1;
    while (pieces * 2 * shards <= NN_PIECES)
        pieces *= 2;
    return pieces;
}

void nn_split(int n, int pieces, int piece, int *first, int *last)
{
    *first = (int)((long long)n * piece / pieces);
    *last = (int)((long long)n * (piece + 1) / pieces);
}

void nn_split_size(size_t n, int pieces, int piece, size_t *first,
                   size_t *last)
{
    *first = n * (size_t)piece / (size_t)pieces;
    *last = n * (size_t)(piece + 1) / (size_t)pieces;
}

/* Level after level: at step `step` the live partials are those at multiples
 * of step, and each even one takes in its right neighbour when there is
 * one. That is the pairwise tree with an odd last partial carried up. */
void nn_tree_floats(float *partials, int count, size_t stride, size_t first,
                    size_t last)
{
    for (int step = 1; step < count; step *= 2)
        for (int c = 0; c + step < count; c += 2 * step) {
            float *dst = partials + (size_t)c * stride;
            const float *src = partials + (size_t)(c + step) * stride;
            for (size_t i = first; i < last; i++)
                dst[i] += src[i];
        }
}

void nn_tree_doubles(double *partials, int count, size_t stride, size_t n)
{
    for (int step = 1; step < count; step *= 2)
        for (int c = 0; c + step < count; c += 2 * step)
            for (size_t i = 0; i < n; i++)
                partials[(size_t)c * stride + i] +=
                    partials[(size_t)(c + step) * stride + i];
}

typedef struct {
    float *grads, *partials;
    int count;
    size_t stride, n;
} reduce_job;

/* Blocks of 4096 values: fixed, so the sums never depend on threads. */
#define REDUCE_BLOCK 4096

static void reduce_task(void *p, int task, int thread)
{
    const reduce_job *job = p;
    size_t first = (size_t)task * REDUCE_BLOCK;
    size_t last = first + REDUCE_BLOCK < job->n ? first + REDUCE_BLOCK : job->n;
    (void)thread;
    nn_tree_floats(job->partials, job->count, job->stride, first, last);
    for (size_t i = first; i < last; i++)
        job->grads[i] += job->partials[i];
}

void nn_reduce_tree(nn_pool *pool, float *partials, float *grads, int count,
                    size_t stride, size_t n)
{
    reduce_job job = {grads, partials, count, stride, n};
    nn_pool_run(pool, (int)((n + REDUCE_BLOCK - 1) / REDUCE_BLOCK),
                reduce_task, &job);
}

void nn_batch_group_sum(const nn_batch_shards *batch, void *values,
                        size_t count, int doubles)
{
    const nn_group *group = batch->group;
    nn_status st;
    if (!group)
        return;
    st = doubles ? group->sum_double(group->ctx, values, count)
                 : group->sum_float(group->ctx, values, count);
    if (st != NN_OK && *batch->group_error == NN_OK)
        *batch->group_error = st;
}
