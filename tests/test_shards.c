/* Batches cut into shards, and training over a group of processes: the
 * sums over a batch are the same bits whether one net holds every shard or
 * several nets (threads here, playing the processes of an nn_group) hold
 * a part each. Also the tree-shaped gemm against its definition. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "core/threads.h"
#include "core/util.h"
#include "compute/gemm.h"
#include "nn/advanced.h"
#include "testutil.h"

#define MAX_RANKS 8

/* ------------------------------------------------- the tree's definition */

/* The pairwise tree, level by level: v[0]+v[1], v[2]+v[3], ..., an odd
 * last one carried up; the values are overwritten. One per value type. */
#define DEFINE_TREE_BY_LEVELS(name, type)                                   \
    static type name(type *v, int count)                                    \
    {                                                                       \
        while (count > 1) {                                                 \
            int next = 0;                                                   \
            for (int i = 0; i + 1 < count; i += 2)                          \
                v[next++] = v[i] + v[i + 1];                                \
            if (count % 2)                                                  \
                v[next++] = v[count - 1];                                   \
            count = next;                                                   \
        }                                                                   \
        return v[0];                                                        \
    }
DEFINE_TREE_BY_LEVELS(tree_by_levels, float)
DEFINE_TREE_BY_LEVELS(tree_by_levels_d, double)

/* Values whose sum depends on the order they are added in. */
static float awkward(nn_rng *rng)
{
    static const float scale[] = {1e8f, 1.0f, 3e-3f, 7e4f};
    float u = nn_rng_uniform(rng) - 0.5f;
    return u * scale[nn_rng_below(rng, 4)];
}

static void test_tree_floats_is_the_pairwise_tree(void **state)
{
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 5);
    for (int count = 1; count <= 13; count++) {
        float parts[13 * 3], column[13], want[3];
        for (int i = 0; i < count * 3; i++)
            parts[i] = awkward(&rng);
        for (int i = 0; i < 3; i++) {
            for (int c = 0; c < count; c++)
                column[c] = parts[c * 3 + i];
            want[i] = tree_by_levels(column, count);
        }
        nn_tree_floats(parts, count, 3, 0, 3);
        assert_memory_equal(parts, want, sizeof want);
    }
}

/* The order matters for these values, so a sequential sum would differ:
 * the test above could not pass by accident. */
static void test_tree_differs_from_a_running_sum(void **state)
{
    float v[5] = {1e8f, 1.0f, -1e8f, 1.0f, 1.0f}, w[5];
    float running = 0.0f;
    (void)state;
    memcpy(w, v, sizeof v);
    for (int i = 0; i < 5; i++)
        running += v[i];
    assert_true(tree_by_levels(w, 5) != running);
}

/* ------------------------------------------------ the tree-shaped gemm */

/* C += tree over shards, against per-shard gemms (alpha 1, beta 0),
 * nn_tree_floats and an add: bit for bit, for both gemm paths. */
static void check_tree_gemm(nn_kernels kernels, int trans_a, int trans_b,
                            int m, int n, const int *bounds, int shards,
                            nn_rng *rng)
{
    int k = bounds[shards];
    size_t a_size = (size_t)m * k, b_size = (size_t)k * n, c_size = (size_t)m * n;
    float *a = malloc(a_size * sizeof *a), *b = malloc(b_size * sizeof *b);
    float *c = malloc(c_size * sizeof *c), *want = malloc(c_size * sizeof *c);
    float *parts = malloc(c_size * (size_t)shards * sizeof *parts);
    int lda = trans_a ? m : k, ldb = trans_b ? k : n;
    nn_sgemm_fn sgemm = nn_sgemm_for(kernels);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(want);
    assert_non_null(parts);
    for (size_t i = 0; i < a_size; i++)
        a[i] = awkward(rng);
    for (size_t i = 0; i < b_size; i++)
        b[i] = awkward(rng);
    for (size_t i = 0; i < c_size; i++)
        c[i] = want[i] = awkward(rng);
    for (int s = 0; s < shards; s++) {
        int k0 = bounds[s], kc = bounds[s + 1] - k0;
        const float *as = a + (trans_a ? (size_t)k0 * lda : (size_t)k0);
        const float *bs = b + (trans_b ? (size_t)k0 : (size_t)k0 * ldb);
        sgemm(trans_a, trans_b, m, n, kc, 1.0f, as, lda, bs, ldb, 0.0f,
              parts + (size_t)s * c_size, n);
    }
    nn_tree_floats(parts, shards, c_size, 0, c_size);
    for (size_t i = 0; i < c_size; i++)
        want[i] += parts[i];
    assert_int_equal(nn_sgemm_tree_for(kernels)(trans_a, trans_b, m, n, bounds,
                                                shards, a, lda, b, ldb, c, n),
                     1);
    assert_memory_equal(c, want, c_size * sizeof *c);
    free(a);
    free(b);
    free(c);
    free(want);
    free(parts);
}

static void test_tree_gemm_matches_its_definition(void **state)
{
    static const int shapes[][2] = {{100, 196}, {6, 16}, {7, 17}, {1, 1},
                                    {13, 40}, {64, 9}};
    static const int cuts[][6] = {
        {1, 64}, {2, 32, 64}, {4, 16, 32, 48, 64},
        {5, 0, 0, 3, 3, 10}, /* empty shards */
        {3, 5, 6, 7}};
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 9);
    for (int kernels = NN_KERNELS_AUTO; kernels <= NN_KERNELS_PORTABLE; kernels++)
        for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++)
            for (size_t cu = 0; cu < sizeof cuts / sizeof *cuts; cu++) {
                int bounds[8] = {0}, shards = cuts[cu][0];
                for (int s = 0; s < shards; s++)
                    bounds[s + 1] = cuts[cu][s + 1];
                for (int t = 0; t < 4; t++)
                    check_tree_gemm((nn_kernels)kernels, t & 1, t >> 1,
                                    shapes[sh][0], shapes[sh][1], bounds,
                                    shards, &rng);
            }
}

/* Shard counts whose binary counter holds up to eight finished subtrees at
 * once (7 = 111, 11 = 1011, 15 = 1111, 255 = 11111111), and an even count
 * with one level left over (6 = 110), each shard of 1 to 3 k values. */
static void test_tree_gemm_with_many_subtrees(void **state)
{
    static const int counts[] = {6, 7, 11, 13, 15, 31, 255};
    static int bounds[256];
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 10);
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        int shards = counts[i];
        for (int s = 0; s < shards; s++)
            bounds[s + 1] = bounds[s] + 1 + s % 3;
        for (int kernels = NN_KERNELS_AUTO; kernels <= NN_KERNELS_PORTABLE;
             kernels++)
            for (int t = 0; t < 4; t++)
                check_tree_gemm((nn_kernels)kernels, t & 1, t >> 1, 7, 17,
                                bounds, shards, &rng);
    }
}

/* A shard longer than one k block is left to the caller: nothing done. */
static void test_tree_gemm_declines_long_shards(void **state)
{
    int bounds[3] = {0, 10, 300};
    float *a = calloc(300 * 4, sizeof *a), *b = calloc(300 * 4, sizeof *b);
    float c[16] = {1.0f};
    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(nn_sgemm_tree_for(NN_KERNELS_AUTO)(1, 0, 4, 4, bounds, 2,
                                                        a, 4, b, 4, c, 4),
                     0);
    assert_true(c[0] == 1.0f);
    free(a);
    free(b);
}

/* ------------------------------------------- a group of threads as ranks */

/* What the ranks share: each rank's values, met at a barrier. */
typedef struct {
    pthread_barrier_t barrier;
    int size;
    void *slots[MAX_RANKS];
    int fail_after; /* sums before the group fails (NN_EIO); -1: never */
    int calls;
} shared_group;

typedef struct {
    shared_group *shared;
    int rank;
} rank_ctx;

/* values (count floats, or doubles) = the tree over the ranks' values, in
 * rank order; the float sums fail with NN_EIO after fail_after calls. */
static nn_status sum_values(rank_ctx *r, void *values, size_t count,
                            int doubles)
{
    shared_group *g = r->shared;
    size_t size = doubles ? sizeof(double) : sizeof(float);
    unsigned char *out = malloc((count + 1) * size);
    nn_status st = NN_OK;
    if (!out)
        return NN_ENOMEM;
    g->slots[r->rank] = values;
    pthread_barrier_wait(&g->barrier);
    for (size_t i = 0; i < count; i++) {
        float column[MAX_RANKS];
        double column_d[MAX_RANKS];
        for (int k = 0; k < g->size; k++)
            if (doubles)
                column_d[k] = ((double *)g->slots[k])[i];
            else
                column[k] = ((float *)g->slots[k])[i];
        if (doubles)
            ((double *)(void *)out)[i] = tree_by_levels_d(column_d, g->size);
        else
            ((float *)(void *)out)[i] = tree_by_levels(column, g->size);
    }
    if (r->rank == 0 && !doubles)
        g->calls++;
    pthread_barrier_wait(&g->barrier);
    if (!doubles && g->fail_after >= 0 && g->calls > g->fail_after)
        st = NN_EIO;
    memcpy(values, out, count * size);
    pthread_barrier_wait(&g->barrier);
    free(out);
    return st;
}

static nn_status sum_floats(void *ctx, float *values, size_t count)
{
    return sum_values(ctx, values, count, 0);
}

static nn_status sum_doubles(void *ctx, double *values, size_t count)
{
    return sum_values(ctx, values, count, 1);
}

/* One rank's job: its own net, its part of each batch. */
typedef struct {
    nn_group group;
    rank_ctx ctx;
    nn_net *net;
    nn_optim *opt;
    const nn_dataset *data;
    nn_train_config cfg;
    int batch, epochs;
    nn_status status;
    nn_epoch_stats stats;
    size_t params, states; /* the net's counts, kept after it is freed */
} rank_job;

/* Two chains, and a residual graph: a block added to its input, dropout,
 * a concat of two outputs, batchnorm (on 1x8x8 inputs, see make_net). */
static const char *const SPECS[] = {
    "conv3x3x4p1,bn,relu,pool2,conv3x3x6,relu,dropout0.3,dense12,bn,relu,dense4",
    "dense16,relu,dropout0.5,dense8,bn,relu,dense4",
    "conv3x3x4p1,bn,relu@a,conv3x3x4p1,bn,add(a),relu,dropout0.3@d,"
    "conv1x1x4(a),bn,concat(d),pool2,dense4",
};
enum { GRAPH_SPEC = 2 };

static nn_train_config train_config(int batch)
{
    nn_train_config cfg = nn_train_defaults();
    cfg.epochs = 2;
    cfg.batch = batch;
    cfg.seed = 3;
    cfg.schedule.lr = 0.05f;
    cfg.schedule.total_epochs = cfg.epochs;
    cfg.augment_flip = 1;
    cfg.augment_crop = 1;
    return cfg;
}

static void *train_rank(void *p)
{
    rank_job *job = p;
    nn_rng rng;
    nn_rng_seed(&rng, 77);
    job->status = NN_OK;
    for (int e = 0; e < job->epochs && job->status == NN_OK; e++)
        job->status = nn_train_epoch(job->net, job->opt, job->data, &job->cfg,
                                     e, &rng, &job->stats);
    return NULL;
}

/* A net of spec with `shards` shards, and an SGD optimizer. */
static void make_net(rank_job *job, const char *spec, int shards, int batch)
{
    nn_optim_settings s = tu_sgd(0.05f, 0.9f, 5e-4f);
    job->net = tu_net(spec, 1, 8, 8, batch, 11);
    assert_int_equal(nn_net_set_shards(job->net, shards), NN_OK);
    job->opt = tu_optim(job->net, &s);
}

static void free_job(rank_job *job)
{
    nn_optim_destroy(job->opt);
    nn_net_destroy(job->net);
}

/* Trains `ranks` nets as one group (threads), the rank 0 one's stats and
 * status in *out, its parameters and state kept in params/state. */
static void train_group(const char *spec, int shards, int ranks,
                        const nn_dataset *data, int batch, int fail_after,
                        rank_job *out, float **params, float **state)
{
    shared_group shared;
    rank_job jobs[MAX_RANKS];
    pthread_t threads[MAX_RANKS];
    memset(&shared, 0, sizeof shared);
    shared.size = ranks;
    shared.fail_after = fail_after;
    assert_int_equal(pthread_barrier_init(&shared.barrier, NULL, (unsigned)ranks), 0);
    for (int r = 0; r < ranks; r++) {
        rank_job *job = &jobs[r];
        memset(job, 0, sizeof *job);
        make_net(job, spec, shards, batch);
        job->ctx = (rank_ctx){&shared, r};
        job->group = (nn_group){r, ranks, &job->ctx, sum_floats, sum_doubles};
        job->data = data;
        job->batch = batch;
        job->epochs = 2;
        job->cfg = train_config(batch);
        job->cfg.group = ranks > 1 ? &job->group : NULL;
        assert_int_equal(pthread_create(&threads[r], NULL, train_rank, job), 0);
    }
    for (int r = 0; r < ranks; r++)
        pthread_join(threads[r], NULL);
    pthread_barrier_destroy(&shared.barrier);
    for (int r = 1; r < ranks; r++) {
        /* every rank ends with the same weights and the same verdict */
        assert_int_equal(jobs[r].status, jobs[0].status);
        assert_memory_equal(nn_net_params(jobs[r].net), nn_net_params(jobs[0].net),
                            nn_net_param_count(jobs[0].net) * sizeof(float));
    }
    jobs[0].params = nn_net_param_count(jobs[0].net);
    jobs[0].states = nn_net_state_count(jobs[0].net);
    *out = jobs[0];
    out->net = NULL; /* freed below */
    out->opt = NULL;
    *params = malloc(nn_net_param_count(jobs[0].net) * sizeof(float));
    *state = malloc((nn_net_state_count(jobs[0].net) + 1) * sizeof(float));
    assert_non_null(*params);
    assert_non_null(*state);
    memcpy(*params, nn_net_params(jobs[0].net),
           nn_net_param_count(jobs[0].net) * sizeof(float));
    memcpy(*state, nn_net_state(jobs[0].net),
           nn_net_state_count(jobs[0].net) * sizeof(float));
    for (int r = 0; r < ranks; r++)
        free_job(&jobs[r]);
}

/* Training on 2, 4 (4 shards), 3 and 6 (12 shards) ranks gives the weights
 * and batchnorm statistics of one net holding every shard, bit for bit;
 * with batches that leave some ranks' parts empty too (a last batch of 2
 * on 4 ranks). */
static void test_group_training_matches_one_net(void **state)
{
    static const int cases[][2] = {{4, 2}, {4, 4}, {4, 3}, {12, 3}, {12, 6}};
    nn_dataset data;
    (void)state;
    tu_make_dataset(&data, 50, 8, 4, 21); /* 50 = 3 x 16 + 2 */
    for (size_t sp = 0; sp < sizeof SPECS / sizeof *SPECS; sp++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            int shards = cases[i][0], ranks = cases[i][1];
            rank_job one, many;
            float *p1, *s1, *pn, *sn;
            size_t params, states;
            train_group(SPECS[sp], shards, 1, &data, 16, -1, &one, &p1, &s1);
            train_group(SPECS[sp], shards, ranks, &data, 16, -1, &many, &pn, &sn);
            assert_int_equal(one.status, NN_OK);
            assert_int_equal(many.status, NN_OK);
            params = one.params;
            states = one.states;
            assert_memory_equal(pn, p1, params * sizeof *p1);
            assert_memory_equal(sn, s1, states * sizeof *s1);
            /* the stats are the whole group's */
            assert_int_equal(many.stats.images, one.stats.images);
            assert_true(fabs(many.stats.train_accuracy - one.stats.train_accuracy) < 1e-12);
            assert_true(fabs(many.stats.train_loss - one.stats.train_loss) < 1e-6);
            free(p1);
            free(s1);
            free(pn);
            free(sn);
        }
    nn_dataset_free(&data);
}

/* The largest relative difference between the weights of two trainings
 * of spec (shards and ranks each), after checking both went well. */
static double weight_difference(const char *spec, int shards_a, int ranks_a,
                                int shards_b, int ranks_b)
{
    nn_dataset data;
    rank_job a, b;
    float *pa, *sa, *pb, *sb;
    double worst = 0.0;
    tu_make_dataset(&data, 48, 8, 4, 21);
    train_group(spec, shards_a, ranks_a, &data, 16, -1, &a, &pa, &sa);
    train_group(spec, shards_b, ranks_b, &data, 16, -1, &b, &pb, &sb);
    assert_int_equal(a.status, NN_OK);
    assert_int_equal(b.status, NN_OK);
    for (size_t i = 0; i < a.params; i++) {
        double d = fabs((double)pb[i] - pa[i]) / fmax(1.0, fabs(pa[i]));
        worst = d > worst ? d : worst;
    }
    free(pa);
    free(sa);
    free(pb);
    free(sb);
    nn_dataset_free(&data);
    return worst;
}

/* 3 ranks over 8 shards (8 / 3 not a power of two; they hold 2, 3 and 3
 * shards): the ranks' sums do not line up with the tree, so the weights
 * differ in the last bits, and only there. (3 ranks over 4 shards hold 1,
 * 1 and 2: those line up, and test_group_training_matches_one_net includes
 * them.) */
static void test_uneven_group_is_close(void **state)
{
    double worst = weight_difference(SPECS[0], 8, 1, 8, 3);
    (void)state;
    print_message("3 ranks on 8 shards: largest weight difference %.3g\n", worst);
    assert_true(worst > 0.0 && worst < 1e-4);
}

/* Other shard counts give other (close) weights: the shards are part of
 * what is computed, which is why a group must use the same count. */
static void test_shard_count_changes_the_bits(void **state)
{
    double worst = weight_difference(SPECS[1], 1, 1, 4, 1);
    (void)state;
    print_message("1 shard against 4: largest weight difference %.3g\n", worst);
    assert_true(worst > 0.0 && worst < 1e-3);
}

/* The residual graph trained by one net with 4 shards on 1, 2, 3 and 4
 * threads: the same weights and statistics, bit for bit (the threads split
 * work, the shards fix the sums); with 1 shard other bits. */
static void test_graph_same_bits_any_threads(void **state)
{
    nn_dataset data;
    float *params = NULL, *stats = NULL;
    (void)state;
    tu_make_dataset(&data, 50, 8, 4, 21);
    for (int threads = 1; threads <= 5; threads++) {
        rank_job job;
        memset(&job, 0, sizeof job);
        make_net(&job, SPECS[GRAPH_SPEC], threads <= 4 ? 4 : 1, 16);
        assert_int_equal(nn_net_set_threads(job.net, threads <= 4 ? threads : 2), NN_OK);
        job.data = &data;
        job.epochs = 2;
        job.cfg = train_config(16);
        train_rank(&job);
        assert_int_equal(job.status, NN_OK);
        if (!params) {
            params = malloc(nn_net_param_count(job.net) * sizeof *params);
            stats = malloc((nn_net_state_count(job.net) + 1) * sizeof *stats);
            assert_non_null(params);
            assert_non_null(stats);
            memcpy(params, nn_net_params(job.net), nn_net_param_count(job.net) * sizeof *params);
            memcpy(stats, nn_net_state(job.net), nn_net_state_count(job.net) * sizeof *stats);
        } else if (threads <= 4) {
            assert_memory_equal(nn_net_params(job.net), params,
                                nn_net_param_count(job.net) * sizeof *params);
            assert_memory_equal(nn_net_state(job.net), stats,
                                nn_net_state_count(job.net) * sizeof *stats);
        } else {
            assert_true(memcmp(nn_net_params(job.net), params,
                               nn_net_param_count(job.net) * sizeof *params) != 0);
        }
        free_job(&job);
    }
    free(params);
    free(stats);
    nn_dataset_free(&data);
}

/* A group that fails makes every rank stop with its error, none hangs. */
static void test_failing_group_stops_every_rank(void **state)
{
    nn_dataset data;
    rank_job out;
    float *p, *s;
    (void)state;
    tu_make_dataset(&data, 48, 8, 4, 21);
    train_group(SPECS[0], 4, 2, &data, 16, 3, &out, &p, &s);
    assert_int_equal(out.status, NN_EIO);
    free(p);
    free(s);
    nn_dataset_free(&data);
}

/* A group of one process whose sum of the gradients brings an infinity
 * (as another process's overflowing gradients would), every loss finite. */
typedef struct {
    size_t params; /* the gradients are the float sum of this many values */
    int calls;     /* gradient sums seen */
} inf_ctx;

static nn_status sum_floats_inf(void *ctx, float *values, size_t count)
{
    inf_ctx *c = ctx;
    if (count == c->params) {
        values[count / 2] = INFINITY;
        c->calls++;
    }
    return NN_OK;
}

static nn_status sum_doubles_alone(void *ctx, double *values, size_t count)
{
    (void)ctx;
    (void)values;
    (void)count;
    return NN_OK;
}

/* The check for non-finite gradients before the optimizer's step is
 * reached with a finite loss: the epoch stops with NN_ENUMERIC at the first
 * step, the weights as they were. (A NaN loss stops earlier, before the
 * gradients are summed; this is the other way in.) */
static void test_infinite_gradient_with_finite_loss_stops(void **state)
{
    nn_dataset data;
    rank_job job;
    nn_rng rng;
    nn_epoch_stats stats;
    inf_ctx ctx = {0, 0};
    nn_group one = {0, 1, &ctx, sum_floats_inf, sum_doubles_alone};
    float *before;
    size_t n;
    (void)state;
    tu_make_dataset(&data, 32, 8, 4, 5);
    memset(&job, 0, sizeof job);
    make_net(&job, SPECS[1], 4, 16);
    n = nn_net_param_count(job.net);
    ctx.params = n;
    before = malloc(n * sizeof *before);
    assert_non_null(before);
    memcpy(before, nn_net_params(job.net), n * sizeof *before);
    job.cfg = train_config(16);
    job.cfg.group = &one;
    nn_rng_seed(&rng, 2);
    assert_int_equal(nn_train_epoch(job.net, job.opt, &data, &job.cfg, 0, &rng,
                                     &stats),
                     NN_ENUMERIC);
    assert_int_equal(ctx.calls, 1);
    assert_memory_equal(nn_net_params(job.net), before, n * sizeof *before);
    assert_int_equal(nn_optim_steps(job.opt), 0);
    free(before);
    free_job(&job);
    nn_dataset_free(&data);
}

/* More ranks than shards, or a group without functions: NN_EINVAL. */
static void test_bad_groups_are_refused(void **state)
{
    nn_dataset data;
    rank_job job;
    nn_rng rng;
    nn_group big = {0, 5, NULL, sum_floats, sum_doubles};
    nn_group empty = {0, 2, NULL, NULL, NULL};
    (void)state;
    tu_make_dataset(&data, 16, 8, 4, 1);
    memset(&job, 0, sizeof job);
    make_net(&job, SPECS[1], 4, 16);
    job.cfg = train_config(16);
    nn_rng_seed(&rng, 1);
    job.cfg.group = &big;
    assert_int_equal(nn_train_epoch(job.net, job.opt, &data, &job.cfg, 0, &rng,
                                    &job.stats), NN_EINVAL);
    job.cfg.group = &empty;
    assert_int_equal(nn_train_epoch(job.net, job.opt, &data, &job.cfg, 0, &rng,
                                    &job.stats), NN_EINVAL);
    assert_int_equal(nn_net_set_shards(job.net, 0), NN_EINVAL);
    assert_int_equal(nn_net_set_shards(job.net, NN_SHARDS_MAX + 1), NN_EINVAL);
    assert_int_equal(nn_net_forward_shards(job.net, 16, 2, 2), NN_EINVAL);
    assert_int_equal(nn_net_forward_shards(job.net, 16, 0, 5), NN_EINVAL);
    free_job(&job);
    nn_dataset_free(&data);
}

/* More shards after building (more partial buffers) still trains, and
 * gives what a net built with them gives. */
static void test_shards_set_after_build(void **state)
{
    nn_dataset data;
    rank_job a, b;
    nn_rng ra, rb;
    (void)state;
    tu_make_dataset(&data, 32, 8, 4, 2);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    make_net(&a, SPECS[0], 32, 16);
    make_net(&b, SPECS[0], 1, 16);
    assert_int_equal(nn_net_set_shards(b.net, 32), NN_OK);
    assert_int_equal(nn_net_shards(b.net), 32);
    a.cfg = b.cfg = train_config(16);
    nn_rng_seed(&ra, 4);
    nn_rng_seed(&rb, 4);
    assert_int_equal(nn_train_epoch(a.net, a.opt, &data, &a.cfg, 0, &ra, &a.stats), NN_OK);
    assert_int_equal(nn_train_epoch(b.net, b.opt, &data, &b.cfg, 0, &rb, &b.stats), NN_OK);
    assert_memory_equal(nn_net_params(a.net), nn_net_params(b.net),
                        nn_net_param_count(a.net) * sizeof(float));
    free_job(&a);
    free_job(&b);
    nn_dataset_free(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_floats_is_the_pairwise_tree),
        cmocka_unit_test(test_tree_differs_from_a_running_sum),
        cmocka_unit_test(test_tree_gemm_matches_its_definition),
        cmocka_unit_test(test_tree_gemm_with_many_subtrees),
        cmocka_unit_test(test_tree_gemm_declines_long_shards),
        cmocka_unit_test(test_group_training_matches_one_net),
        cmocka_unit_test(test_uneven_group_is_close),
        cmocka_unit_test(test_shard_count_changes_the_bits),
        cmocka_unit_test(test_graph_same_bits_any_threads),
        cmocka_unit_test(test_failing_group_stops_every_rank),
        cmocka_unit_test(test_infinite_gradient_with_finite_loss_stops),
        cmocka_unit_test(test_bad_groups_are_refused),
        cmocka_unit_test(test_shards_set_after_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
