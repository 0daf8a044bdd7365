/* Separate networks on separate threads: two nets trained at the same time,
 * each on its own pthread with its own data set and rng, end with exactly
 * the weights they get when trained one after the other; so do two nets
 * that each run a pool of 2 threads of their own. No assertion runs inside
 * a worker thread (cmocka's are not thread-safe): workers record a status
 * that the main thread checks. Run under ThreadSanitizer by .ci/run. */
#include "gradcheck.h"
#include "testutil.h"

#include <pthread.h>
#include <string.h>

enum { SIDE = 8, CLASSES = 4, SAMPLES = 160, BATCH = 16, EPOCHS = 2 };

/* One training run: its inputs, and the net it leaves behind. */
typedef struct {
    const char *spec;
    uint64_t seed;    /* weights, shuffling and data */
    int threads;      /* the net's own pool */
    nn_dataset data;
    nn_net *net;      /* trained net (NULL if st != NN_OK) */
    nn_status st;
} run;

/* Builds r->spec and trains it for EPOCHS epochs; safe on any thread. */
static void *train_run(void *p)
{
    run *r = p;
    nn_train_config cfg = nn_train_defaults();
    nn_epoch_stats stats;
    nn_rng rng;
    nn_optim *opt = NULL;
    nn_status st = nn_net_create(1, SIDE, SIDE, &r->net);
    cfg.epochs = cfg.schedule.total_epochs = EPOCHS;
    cfg.batch = BATCH;
    cfg.seed = r->seed;
    if (st == NN_OK)
        st = nn_net_add_spec(r->net, r->spec, NULL, 0);
    if (st == NN_OK)
        st = nn_net_build(r->net, BATCH, r->seed);
    if (st == NN_OK)
        st = nn_net_set_threads(r->net, r->threads);
    if (st == NN_OK)
        st = nn_optim_create(r->net, &cfg.optim, &opt);
    nn_rng_seed(&rng, r->seed);
    for (int e = 0; e < EPOCHS && st == NN_OK; e++)
        st = nn_train_epoch(r->net, opt, &r->data, &cfg, e, &rng, &stats);
    nn_optim_destroy(opt);
    if (st != NN_OK) {
        nn_net_destroy(r->net);
        r->net = NULL;
    }
    r->st = st;
    return NULL;
}

/* The two runs every test makes: a CNN with batchnorm and pooling, and an
 * MLP, on different data (made here, on the main thread); threads each. */
static void setup_runs(run r[2], int threads)
{
    static const char *specs[2] = {
        "conv3x3x6p1,bn,relu,pool2,conv3x3x8p1,relu,pool2,dense4",
        "dense32,tanh,dense16,relu,dense4"};
    for (int i = 0; i < 2; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].spec = specs[i];
        r[i].seed = 11 + (uint64_t)i;
        r[i].threads = threads;
        tu_make_dataset(&r[i].data, SAMPLES, SIDE, CLASSES, 100 + (uint64_t)i);
    }
}

static void free_runs(run r[2])
{
    for (int i = 0; i < 2; i++) {
        nn_net_destroy(r[i].net);
        nn_dataset_free(&r[i].data);
    }
}

/* Trains both runs, one after the other on this thread. */
static void train_in_turn(run r[2])
{
    for (int i = 0; i < 2; i++) {
        train_run(&r[i]);
        assert_nn_ok(r[i].st);
    }
}

/* Trains both runs at the same time, each on a pthread of its own. */
static void train_at_once(run r[2])
{
    pthread_t tid[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, train_run, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    for (int i = 0; i < 2; i++)
        assert_nn_ok(r[i].st);
}

/* Parameters and batchnorm statistics equal bit for bit. */
static void assert_same_weights(nn_net *a, nn_net *b)
{
    assert_int_equal(nn_net_param_count(a), nn_net_param_count(b));
    assert_int_equal(nn_net_state_count(a), nn_net_state_count(b));
    assert_memory_equal(nn_net_params(a), nn_net_params(b),
                        nn_net_param_count(a) * sizeof(float));
    assert_memory_equal(nn_net_state(a), nn_net_state(b),
                        nn_net_state_count(a) * sizeof(float));
}

/* Concurrent runs with `threads` each match sequential single-threaded
 * runs (the reference), which must also have moved off their start. */
static void check_concurrent(int threads)
{
    run ref[2], par[2];
    setup_runs(ref, 1);
    setup_runs(par, threads);
    train_in_turn(ref);
    train_at_once(par);
    for (int i = 0; i < 2; i++) {
        nn_net *fresh = NULL;
        assert_int_equal(nn_net_threads(par[i].net), threads);
        assert_same_weights(ref[i].net, par[i].net);
        /* not vacuous: training changed the weights */
        assert_nn_ok(nn_net_create(1, SIDE, SIDE, &fresh));
        assert_nn_ok(nn_net_add_spec(fresh, ref[i].spec, NULL, 0));
        assert_nn_ok(nn_net_build(fresh, BATCH, ref[i].seed));
        assert_true(memcmp(nn_net_params(fresh), nn_net_params(ref[i].net),
                           nn_net_param_count(fresh) * sizeof(float)) != 0);
        nn_net_destroy(fresh);
    }
    free_runs(ref);
    free_runs(par);
}

static void test_two_nets_on_two_threads(void **state)
{
    (void)state;
    check_concurrent(1);
}

static void test_two_nets_with_two_threads_each(void **state)
{
    (void)state;
    check_concurrent(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_nets_on_two_threads),
        cmocka_unit_test(test_two_nets_with_two_threads_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
