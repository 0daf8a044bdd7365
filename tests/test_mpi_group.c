/* libnn_mpi's group, run under mpirun with 1, 2, 3 and 4 processes: every
 * sum equals, bit for bit on every process, the pairwise tree over ranks
 * computed here from every rank's values (which each process generates);
 * counts of zero, below the process count and odd; floats and doubles;
 * counters; a sub-communicator; training over the group gives one
 * process's weights. Each check is agreed on by all processes before it
 * asserts, so that a failure on one process cannot leave the others
 * waiting in the next sum. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_mpi.h"

static int rank, size;

/* Fails on every process when ok is 0 on any (collective). */
static void assert_everywhere(int ok, const char *what)
{
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!ok)
        fail_msg("process %d: %s", rank, what);
    if (!all)
        fail_msg("%s failed on another process", what);
}

/* Rank r's value i: magnitudes from 1e8 to 0.1 with both signs, so that
 * the order of the additions shows in the result (1e8 + 1 - 1e8). */
static double value(int r, size_t i)
{
    static const double pattern[] = {1e8, 1.0, -1e8, 3.25, -1.0, 0.1, 7e-3};
    uint64_t h = (uint64_t)(r + 1) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)i * 0xbf58476d1ce4e5b9ULL;
    return pattern[(r + i) % 7] + (double)(h >> 40) / (1 << 24) - 0.5;
}

/* The tree over ranks first, first + stride, ... (count of them) of value
 * i, as a recursion: the first power of two of them, then the rest; the
 * level-by-level pairwise tree of nn_group written another way. In floats
 * (as_float: each sum of two floats made in double and rounded, which is
 * exact float addition) or in doubles. */
static double tree(int first, int count, int stride, size_t i, int as_float)
{
    int half = 1;
    double sum;
    if (count == 1)
        return as_float ? (float)value(first, i) : value(first, i);
    while (half * 2 < count)
        half *= 2;
    sum = tree(first, half, stride, i, as_float) +
          tree(first + half * stride, count - half, stride, i, as_float);
    return as_float ? (float)sum : sum;
}

/* Counts: none, fewer than the processes, odd, and large. */
static const size_t counts[] = {0, 1, 2, 3, 5, 7, 1000, 100003, 4};

static void test_float_sums_are_the_tree(void **state)
{
    nn_mpi_group *g = NULL;
    const nn_group *group;
    float *v = malloc(sizeof *v * 100003);
    int order_shows = 0;
    (void)state;
    assert_nn_ok(nn_mpi_group_create(MPI_COMM_WORLD, &g));
    group = nn_mpi_group_get(g);
    assert_int_equal(group->rank, rank);
    assert_int_equal(group->size, size);
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        int ok;
        for (size_t i = 0; i < counts[k]; i++)
            v[i] = (float)value(rank, i);
        ok = group->sum_float(group->ctx, v, counts[k]) == NN_OK;
        for (size_t i = 0; ok && i < counts[k]; i++) {
            float want = (float)tree(0, size, 1, i, 1);
            float left = 0;
            ok = memcmp(&v[i], &want, sizeof want) == 0;
            for (int r = 0; r < size; r++)
                left += (float)value(r, i);
            order_shows |= left != want;
        }
        assert_everywhere(ok, "a float sum differs from the tree");
    }
    /* With 4 processes some sums differ from the left-to-right order:
     * the check above could not pass with MPI's own order by chance. */
    if (size == 4)
        assert_true(order_shows);
    nn_mpi_group_destroy(g);
    free(v);
}

static void test_double_sums_are_the_tree(void **state)
{
    nn_mpi_group *g = NULL;
    const nn_group *group;
    double *v = malloc(sizeof *v * 100003);
    (void)state;
    assert_nn_ok(nn_mpi_group_create(MPI_COMM_WORLD, &g));
    group = nn_mpi_group_get(g);
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        int ok;
        for (size_t i = 0; i < counts[k]; i++)
            v[i] = ldexp(value(rank, i), 600); /* beyond float's range */
        ok = group->sum_double(group->ctx, v, counts[k]) == NN_OK;
        for (size_t i = 0; ok && i < counts[k]; i++) {
            double want = ldexp(tree(0, size, 1, i, 0), 600); /* exact */
            ok = memcmp(&v[i], &want, sizeof want) == 0;
        }
        assert_everywhere(ok, "a double sum differs from the tree");
    }
    nn_mpi_group_destroy(g);
    free(v);
}

/* The counters: one call per sum, and the bytes of the two exchanges
 * (n - m values out in the all-to-all, (P-1) m in the all-gather, where m
 * is this process's segment); nothing is sent alone. */
static void test_counters(void **state)
{
    nn_mpi_group *g = NULL;
    const nn_group *group;
    nn_mpi_stats stats;
    float v[10] = {0};
    size_t n = 10, mine = n * (size_t)(rank + 1) / (size_t)size - n * (size_t)rank / (size_t)size;
    (void)state;
    assert_nn_ok(nn_mpi_group_create(MPI_COMM_WORLD, &g));
    group = nn_mpi_group_get(g);
    nn_mpi_group_stats(g, &stats);
    assert_true(stats.calls == 0 && stats.bytes_sent == 0 && stats.seconds == 0);
    assert_everywhere(group->sum_float(group->ctx, v, n) == NN_OK, "sum");
    assert_everywhere(group->sum_float(group->ctx, v, 0) == NN_OK, "empty sum");
    nn_mpi_group_stats(g, &stats);
    assert_true(stats.calls == 2);
    assert_true(stats.bytes_sent ==
                (n - mine + (size_t)(size - 1) * mine) * sizeof(float));
    assert_true(stats.seconds >= 0);
    nn_mpi_group_stats(g, NULL); /* allowed */
    nn_mpi_group_destroy(g);
}

/* A group over half the processes (even and odd ranks) sums over its own
 * members only, in their order there. */
static void test_sub_communicator(void **state)
{
    MPI_Comm half;
    nn_mpi_group *g = NULL;
    const nn_group *group;
    float v[37];
    int ok = 1, members = (size - rank % 2 + 1) / 2;
    (void)state;
    assert_true(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half) == MPI_SUCCESS);
    assert_nn_ok(nn_mpi_group_create(half, &g));
    group = nn_mpi_group_get(g);
    assert_int_equal(group->size, members);
    for (size_t i = 0; i < 37; i++)
        v[i] = (float)value(rank, i);
    ok = group->sum_float(group->ctx, v, 37) == NN_OK;
    for (size_t i = 0; ok && i < 37; i++) {
        float want = (float)tree(rank % 2, members, 2, i, 1);
        ok = memcmp(&v[i], &want, sizeof want) == 0;
    }
    nn_mpi_group_destroy(g);
    MPI_Comm_free(&half);
    assert_everywhere(ok, "a sum over half the processes");
}

/* Bad arguments come back as statuses, on every process alike. */
static void test_bad_arguments(void **state)
{
    nn_mpi_group *g = (nn_mpi_group *)&g;
    const nn_group *group;
    (void)state;
    assert_int_equal(nn_mpi_group_create(MPI_COMM_WORLD, NULL), NN_EINVAL);
    assert_int_equal(nn_mpi_group_create(MPI_COMM_NULL, &g), NN_EINVAL);
    assert_null(g);
    assert_null(nn_mpi_group_get(NULL));
    nn_mpi_group_destroy(NULL);
    assert_nn_ok(nn_mpi_group_create(MPI_COMM_WORLD, &g));
    group = nn_mpi_group_get(g);
    assert_int_equal(group->sum_float(group->ctx, NULL, 3), NN_EINVAL);
    assert_int_equal(group->sum_double(group->ctx, NULL, 0), NN_OK);
    nn_mpi_group_destroy(g);
}

/* One epoch over the group, with batchnorm and dropout, gives the weights
 * of the same epoch on one process (shards / processes a power of two:
 * 4 shards for 1, 2 and 4 processes, 12 for 3). */
static void test_training_matches_one_process(void **state)
{
    static const char *const specs[] = {"conv3x3x4p1,bn,relu,pool2,dense8,dropout0.3,dense4",
                                        "dense16,bn,tanh,dense4"};
    nn_mpi_group *g = NULL;
    nn_dataset data;
    int shards = size == 3 ? 12 : 4;
    (void)state;
    assert_nn_ok(nn_mpi_group_create(MPI_COMM_WORLD, &g));
    tu_make_dataset(&data, 100, 8, 4, 11);
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        nn_net *nets[2];
        nn_train_config cfg = nn_train_defaults();
        nn_epoch_stats stats[2];
        int ok = 1;
        cfg.epochs = cfg.schedule.total_epochs = 2;
        cfg.batch = 24; /* and a last batch of 4 */
        for (int alone = 0; alone < 2; alone++) {
            nn_optim *opt;
            nn_rng rng;
            nets[alone] = tu_net(specs[k], 1, 8, 8, cfg.batch, 3);
            assert_nn_ok(nn_net_set_threads(nets[alone], 1));
            assert_nn_ok(nn_net_set_shards(nets[alone], shards));
            opt = tu_optim(nets[alone], &cfg.optim);
            cfg.group = alone ? NULL : nn_mpi_group_get(g);
            nn_rng_seed(&rng, 5);
            for (int e = 0; ok && e < cfg.epochs; e++)
                ok = nn_train_epoch(nets[alone], opt, &data, &cfg, e, &rng,
                                    &stats[alone]) == NN_OK;
            nn_optim_destroy(opt);
        }
        ok = ok && memcmp(nn_net_params(nets[0]), nn_net_params(nets[1]),
                          sizeof(float) * nn_net_param_count(nets[0])) == 0 &&
             memcmp(nn_net_state(nets[0]), nn_net_state(nets[1]),
                    sizeof(float) * nn_net_state_count(nets[0])) == 0 &&
             stats[0].images == stats[1].images &&
             stats[0].train_accuracy == stats[1].train_accuracy;
        nn_net_destroy(nets[0]);
        nn_net_destroy(nets[1]);
        assert_everywhere(ok, specs[k]);
    }
    nn_dataset_free(&data);
    nn_mpi_group_destroy(g);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_sums_are_the_tree),
        cmocka_unit_test(test_double_sums_are_the_tree),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_sub_communicator),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_training_matches_one_process),
    };
    int failed;
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
        return 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank != 0 && !freopen("/dev/null", "w", stdout)) /* one report */
        return 1;
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    MPI_Finalize();
    return failed ? 1 : 0;
}
