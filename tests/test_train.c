/* Training end to end on a small generated dataset: it learns, it reruns
 * bit-identically, thread counts do not change a single bit, a diverging
 * run stops with NN_ENUMERIC, and metrics add up. */
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SIDE = 8, CLASSES = 4 };

static nn_net *make_net(const char *spec, int threads, int max_batch)
{
    nn_net *net = tu_net(spec, 1, SIDE, SIDE, max_batch, 5);
    assert_nn_ok(nn_net_set_threads(net, threads));
    return net;
}

static nn_train_config config(int epochs)
{
    nn_train_config cfg = nn_train_defaults();
    cfg.epochs = epochs;
    cfg.batch = 16;
    cfg.schedule.total_epochs = epochs;
    cfg.schedule.lr = 0.05f;
    return cfg;
}

/* Trains for cfg->epochs and returns the final test accuracy. */
static double train(nn_net *net, const nn_dataset *tr, const nn_dataset *te,
                    const nn_train_config *cfg)
{
    nn_rng rng;
    nn_epoch_stats stats;
    nn_optim *opt = tu_optim(net, &cfg->optim);
    double loss, accuracy;
    nn_rng_seed(&rng, cfg->seed);
    for (int e = 0; e < cfg->epochs; e++)
        assert_nn_ok(nn_train_epoch(net, opt, tr, cfg, e, &rng, &stats));
    nn_optim_destroy(opt);
    assert_nn_ok(nn_evaluate(net, te, NULL, &loss, &accuracy));
    return accuracy;
}

/* The same parameters and state, bit for bit. */
static void assert_same_weights(nn_net *a, nn_net *b)
{
    assert_int_equal(nn_net_param_count(a), nn_net_param_count(b));
    assert_memory_equal(nn_net_params(a), nn_net_params(b),
                        nn_net_param_count(a) * sizeof(float));
    assert_memory_equal(nn_net_state(a), nn_net_state(b),
                        nn_net_state_count(a) * sizeof(float));
}

static const char *cnn = "conv3x3x6p1,bn,relu,pool2,conv3x3x8p1,relu,pool2,dense4";

static void test_learns_and_reruns_bit_identically(void **state)
{
    nn_dataset tr, te;
    nn_train_config cfg = config(4);
    nn_net *a = make_net(cnn, 1, 16), *b = make_net(cnn, 1, 16);
    double acc_a, acc_b, chance_loss, loss;
    (void)state;
    tu_make_dataset(&tr, 400, SIDE, CLASSES, 1);
    tu_make_dataset(&te, 200, SIDE, CLASSES, 2);
    assert_nn_ok(nn_evaluate(a, &te, NULL, &chance_loss, &acc_a));
    acc_a = train(a, &tr, &te, &cfg);
    acc_b = train(b, &tr, &te, &cfg);
    assert_nn_ok(nn_evaluate(a, &te, NULL, &loss, &acc_a));
    print_message("  loss %.3f -> %.3f, test accuracy %.1f%%\n", chance_loss,
                  loss, 100 * acc_a);
    assert_true(acc_a > 0.95);
    assert_true(loss < chance_loss / 4);
    assert_close(acc_a, acc_b, 0);
    assert_same_weights(a, b);
    nn_net_destroy(a);
    nn_net_destroy(b);
    nn_dataset_free(&tr);
    nn_dataset_free(&te);
}

/* Same weights, bit for bit, with 1, 2 and 3 threads, for SGD and Adam. */
static void check_thread_counts(const char *spec, nn_optim_kind kind)
{
    nn_dataset tr, te;
    nn_train_config cfg = config(2);
    nn_net *nets[3];
    (void)te;
    if (kind != NN_OPTIM_SGD)
        cfg.optim = nn_optim_defaults(kind);
    tu_make_dataset(&tr, 100, SIDE, CLASSES, 3);
    for (int t = 0; t < 3; t++) {
        nn_rng rng;
        nn_epoch_stats stats;
        nn_optim *opt;
        nets[t] = make_net(spec, t + 1, 16);
        opt = tu_optim(nets[t], &cfg.optim);
        assert_int_equal(nn_net_threads(nets[t]), t + 1);
        nn_rng_seed(&rng, 9);
        for (int e = 0; e < cfg.epochs; e++)
            assert_nn_ok(nn_train_epoch(nets[t], opt, &tr, &cfg, e, &rng, &stats));
        nn_optim_destroy(opt);
    }
    for (int t = 1; t < 3; t++) {
        assert_same_weights(nets[0], nets[t]);
    }
    for (int t = 0; t < 3; t++)
        nn_net_destroy(nets[t]);
    nn_dataset_free(&tr);
}

/* One epoch written out with the public API alone, as nn_train_epoch
 * documents it: a Fisher-Yates shuffle, then per batch the augmentation
 * drawn in order (a crop's dy, dx, then a flip per sample), nn_dataset_batch,
 * the shift and mirror, forward, loss, backward and the step at the
 * schedule's lr. */
static void reference_epoch(nn_net *net, nn_optim *opt, const nn_dataset *d,
                            const nn_train_config *cfg, int epoch, nn_rng *rng)
{
    int *order = malloc(sizeof *order * (size_t)d->count), labels[16];
    int batches = (d->count + cfg->batch - 1) / cfg->batch, crop = cfg->augment_crop;
    nn_tensor *in = nn_net_input(net);
    int size = in->c * in->h * in->w;
    float copy[SIDE * SIDE], loss;
    assert_non_null(order);
    assert_int_equal(in->c, 1);
    for (int i = 0; i < d->count; i++)
        order[i] = i;
    for (int i = d->count - 1; i > 0; i--) {
        int j = (int)nn_rng_below(rng, (uint32_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    nn_net_set_training(net, 1);
    for (int b = 0; b < batches; b++) {
        int first = b * cfg->batch;
        int n = d->count - first < cfg->batch ? d->count - first : cfg->batch;
        assert_nn_ok(nn_dataset_batch(d, order + first, n, in->x, labels));
        for (int i = 0; i < n; i++) {
            float *x = in->x + (size_t)i * size;
            int dy = (int)nn_rng_below(rng, 2 * (uint32_t)crop + 1) - crop;
            int dx = (int)nn_rng_below(rng, 2 * (uint32_t)crop + 1) - crop;
            int flip = (int)(nn_rng_next(rng) >> 63);
            memcpy(copy, x, sizeof copy);
            for (int y = 0; y < SIDE; y++)
                for (int k = 0; k < SIDE; k++) {
                    int sy = y + dy, sx = (flip ? SIDE - 1 - k : k) + dx;
                    x[y * SIDE + k] = sy >= 0 && sy < SIDE && sx >= 0 && sx < SIDE
                                          ? copy[sy * SIDE + sx]
                                          : 0.0f;
                }
        }
        nn_optim_set_lr(opt, nn_schedule_lr(&cfg->schedule,
                                            epoch + (double)b / batches));
        assert_nn_ok(nn_net_forward(net, n));
        assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
        nn_net_zero_grad(net);
        assert_nn_ok(nn_net_backward(net));
        assert_nn_ok(nn_optim_step(opt, net));
    }
    free(order);
}

/* nn_train_epoch with random crops and flips on 1 and 3 threads gives the
 * weights of reference_epoch, bit for bit: batches are converted and
 * augmented on the net's threads, from the draws of one sequence. */
static void test_augmented_epochs_match_the_reference(void **state)
{
    nn_dataset tr;
    nn_train_config cfg = config(2);
    nn_net *want = make_net(cnn, 1, 16);
    nn_optim *want_opt = tu_optim(want, &cfg.optim);
    nn_rng rng;
    (void)state;
    cfg.augment_crop = 2;
    cfg.augment_flip = 1;
    tu_make_dataset(&tr, 70, SIDE, CLASSES, 4); /* a last batch of 6 */
    nn_rng_seed(&rng, 12);
    for (int e = 0; e < cfg.epochs; e++)
        reference_epoch(want, want_opt, &tr, &cfg, e, &rng);
    for (int threads = 1; threads <= 3; threads += 2) {
        nn_net *net = make_net(cnn, threads, 16);
        nn_optim *opt = tu_optim(net, &cfg.optim);
        nn_epoch_stats stats;
        nn_rng_seed(&rng, 12);
        for (int e = 0; e < cfg.epochs; e++)
            assert_nn_ok(nn_train_epoch(net, opt, &tr, &cfg, e, &rng, &stats));
        assert_same_weights(net, want);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    }
    nn_optim_destroy(want_opt);
    nn_net_destroy(want);
    nn_dataset_free(&tr);
}

static void test_thread_count_does_not_change_results(void **state)
{
    (void)state;
    check_thread_counts(cnn, NN_OPTIM_SGD);
    check_thread_counts("dense40,relu,dense4", NN_OPTIM_SGD);
    check_thread_counts(cnn, NN_OPTIM_ADAM);
}

static void test_divergence_stops_with_numeric_error(void **state)
{
    nn_dataset tr;
    nn_train_config cfg = config(3);
    nn_net *net = make_net("dense16,relu,dense4", 1, 16);
    nn_optim *opt = tu_optim(net, &cfg.optim);
    nn_rng rng;
    nn_epoch_stats stats;
    nn_status st = NN_OK;
    (void)state;
    cfg.schedule.kind = NN_SCHEDULE_CONSTANT;
    cfg.schedule.lr = 1e30f;
    tu_make_dataset(&tr, 64, SIDE, CLASSES, 4);
    nn_rng_seed(&rng, 1);
    for (int e = 0; e < cfg.epochs && st == NN_OK; e++)
        st = nn_train_epoch(net, opt, &tr, &cfg, e, &rng, &stats);
    assert_int_equal(st, NN_ENUMERIC);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_dataset_free(&tr);
}

static void test_bad_training_arguments(void **state)
{
    nn_dataset tr;
    nn_train_config cfg = config(1);
    nn_net *net = make_net("dense4", 1, 16), *wrong = NULL;
    nn_optim *opt = tu_optim(net, &cfg.optim);
    nn_rng rng;
    nn_epoch_stats stats;
    (void)state;
    tu_make_dataset(&tr, 32, SIDE, CLASSES, 5);
    nn_rng_seed(&rng, 1);
    cfg.batch = 17; /* above the built maximum */
    assert_int_equal(nn_train_epoch(net, opt, &tr, &cfg, 0, &rng, &stats), NN_EINVAL);
    cfg.batch = 16;
    assert_int_equal(nn_train_epoch(NULL, opt, &tr, &cfg, 0, &rng, &stats), NN_EINVAL);
    assert_int_equal(nn_train_epoch(net, NULL, &tr, &cfg, 0, &rng, &stats), NN_EINVAL);
    /* A net whose input or output does not fit the data. */
    assert_nn_ok(nn_net_create(1, SIDE, SIDE + 1, &wrong));
    assert_nn_ok(nn_net_add_dense(wrong, 4));
    assert_nn_ok(nn_net_build(wrong, 16, 1));
    assert_int_equal(nn_train_epoch(wrong, opt, &tr, &cfg, 0, &rng, &stats), NN_ESHAPE);
    nn_net_destroy(wrong);
    wrong = make_net("dense5", 1, 16);
    assert_int_equal(nn_train_epoch(wrong, opt, &tr, &cfg, 0, &rng, &stats), NN_ESHAPE);
    nn_net_destroy(wrong);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_dataset_free(&tr);
}

/* nn_evaluate runs in inference mode and then restores the mode the net
 * was in (it used to leave every net in training mode). */
static void test_evaluate_restores_the_mode(void **state)
{
    nn_dataset te;
    nn_net *net = make_net("dense8,bn,relu,dense4", 1, 16);
    double loss, accuracy;
    (void)state;
    tu_make_dataset(&te, 20, SIDE, CLASSES, 6);
    nn_net_set_training(net, 0);
    assert_nn_ok(nn_evaluate(net, &te, NULL, &loss, &accuracy));
    assert_int_equal(nn_net_training(net), 0);
    nn_net_set_training(net, 1);
    assert_nn_ok(nn_evaluate(net, &te, NULL, &loss, &accuracy));
    assert_int_equal(nn_net_training(net), 1);
    nn_net_destroy(net);
    nn_dataset_free(&te);
}

/* Batchnorm's smallest batch, both sides of the rule (a training-mode
 * batch needs two values or more per channel; inference mode, with the
 * running statistics, takes any batch), for batchnorm after a dense layer
 * (n, 4), after a convolution with a 1x1 output (n, 3, 1, 1) and after one
 * with a 2x2 output (n, 3, 2, 2), with batches of at most 8:
 *   - nn_net_min_batch is 2, 2 and 1; a training batch of 1 is refused
 *     (NN_ESHAPE) for the first two, leaving the running statistics as they
 *     were, and taken by the third; a batch of 2 is taken by all;
 *   - in inference mode a batch of 1 runs, changes no running statistic,
 *     and gives the sample's output in a batch of 5;
 *   - nn_evaluate on 9 images (a last batch of 1) succeeds in a training-mode
 *     net, predicts the single sample as the forward pass does, and leaves
 *     the net in training mode;
 *   - nn_train_epoch with batches of 4 leaves out a last batch of 1 only
 *     where the net cannot train on it (8 or 9 images of 9) and keeps a
 *     last batch of 2 (10 of 10). */
static void test_batchnorm_batch_of_one_outside_training(void **state)
{
    static const struct {
        const char *spec;
        int min_batch;
    } nets[] = {{"dense4,bn,relu,dense4", 2},
                {"conv8x8x3,bn,relu,dense4", 2},
                {"conv7x7x3,bn,relu,dense4", 1}};
    nn_dataset nine, ten;
    (void)state;
    tu_make_dataset(&nine, 9, SIDE, CLASSES, 21);
    tu_make_dataset(&ten, 10, SIDE, CLASSES, 22);
    for (int k = 0; k < 3; k++) {
        nn_net *net = make_net(nets[k].spec, 1, 8);
        size_t states = nn_net_state_count(net), outputs = CLASSES;
        float *running = nn_net_state(net), *saved = malloc(sizeof(float) * states);
        float single[CLASSES], *out;
        int order[5] = {8, 0, 1, 2, 3}, labels[5], predicted[9];
        int refused = nets[k].min_batch > 1;
        nn_train_config cfg = config(1);
        nn_optim *opt = tu_optim(net, &cfg.optim);
        nn_epoch_stats stats;
        double loss, accuracy;
        nn_rng rng;
        assert_non_null(saved);
        print_message("  %s\n", nets[k].spec);
        assert_int_equal(nn_net_min_batch(net), nets[k].min_batch);

        /* Training mode: the batch's statistics. */
        assert_nn_ok(nn_dataset_batch(&nine, order, 5, nn_net_input(net)->x, labels));
        memcpy(saved, running, sizeof(float) * states);
        assert_int_equal(nn_net_forward(net, 1), refused ? NN_ESHAPE : NN_OK);
        if (refused)
            assert_memory_equal(running, saved, sizeof(float) * states);
        else
            assert_true(memcmp(running, saved, sizeof(float) * states));
        assert_nn_ok(nn_net_forward(net, 2));

        /* Inference mode: the running statistics, any batch. */
        nn_net_set_training(net, 0);
        memcpy(saved, running, sizeof(float) * states);
        assert_nn_ok(nn_net_forward(net, 1));
        out = nn_net_output(net)->x;
        memcpy(single, out, sizeof single);
        assert_nn_ok(nn_net_forward(net, 5));
        for (size_t i = 0; i < outputs; i++)
            assert_close(single[i], out[i], 1e-5 * fmax(1.0, fabs(out[i])));
        assert_memory_equal(running, saved, sizeof(float) * states);

        /* nn_evaluate's last batch of one, from training mode. */
        nn_net_set_training(net, 1);
        assert_nn_ok(nn_evaluate(net, &nine, predicted, &loss, &accuracy));
        assert_int_equal(nn_net_training(net), 1);
        assert_true(isfinite(loss));
        assert_int_equal(predicted[8], nn_argmax(single, CLASSES));
        assert_memory_equal(running, saved, sizeof(float) * states);

        /* nn_train_epoch's last batch: 1 left out only if refused, 2 kept. */
        cfg.batch = 4;
        nn_rng_seed(&rng, 23);
        assert_nn_ok(nn_train_epoch(net, opt, &nine, &cfg, 0, &rng, &stats));
        assert_int_equal(stats.images, refused ? 8 : 9);
        assert_nn_ok(nn_train_epoch(net, opt, &ten, &cfg, 0, &rng, &stats));
        assert_int_equal(stats.images, 10);
        for (size_t i = states / 2; i < states; i++)
            assert_true(running[i] > 0.0f && isfinite(running[i]));
        nn_optim_destroy(opt);
        free(saved);
        nn_net_destroy(net);
    }
    nn_dataset_free(&nine);
    nn_dataset_free(&ten);
}

static void test_confusion_and_class_metrics(void **state)
{
    /* true:  0 0 0 1 1 2;  predicted: 0 0 1 1 2 2 */
    int predicted[6] = {0, 0, 1, 1, 2, 2};
    uint8_t labels[6] = {0, 0, 0, 1, 1, 2};
    long m[9];
    float p[3], r[3], f1[3];
    long expect[9] = {2, 1, 0, 0, 1, 1, 0, 0, 1};
    (void)state;
    assert_nn_ok(nn_confusion(predicted, labels, 6, 3, m));
    assert_memory_equal(m, expect, sizeof m);
    nn_class_metrics(m, 3, p, r, f1);
    assert_close(p[0], 1.0, 1e-6);       /* 2 / 2 */
    assert_close(r[0], 2.0 / 3.0, 1e-6); /* 2 / 3 */
    assert_close(f1[0], 0.8, 1e-6);      /* 2 (1)(2/3) / (5/3) */
    assert_close(p[2], 0.5, 1e-6);
    assert_close(r[2], 1.0, 1e-6);
    assert_int_equal(nn_argmax((float[]){1, 3, 3, 2}, 4), 1);
    predicted[0] = 3;
    assert_int_equal(nn_confusion(predicted, labels, 6, 3, m), NN_EINVAL);
}

static void test_schedules(void **state)
{
    nn_schedule s = {NN_SCHEDULE_STEP, 0.1f, 0.5f, 2, 10, 0.0f, 0.0f};
    (void)state;
    assert_close(nn_schedule_lr(&s, 1.9), 0.1, 1e-7);
    assert_close(nn_schedule_lr(&s, 2.0), 0.05, 1e-7);
    assert_close(nn_schedule_lr(&s, 5.0), 0.025, 1e-7);
    s.kind = NN_SCHEDULE_EXPONENTIAL;
    assert_close(nn_schedule_lr(&s, 3.5), 0.1 * 0.125, 1e-7);
    s.kind = NN_SCHEDULE_COSINE;
    s.min_lr = 0.01f;
    assert_close(nn_schedule_lr(&s, 0), 0.1, 1e-7);
    assert_close(nn_schedule_lr(&s, 5), 0.055, 1e-7);
    assert_close(nn_schedule_lr(&s, 10), 0.01, 1e-7);
    s.kind = NN_SCHEDULE_CONSTANT;
    s.warmup_epochs = 2.0f;
    assert_close(nn_schedule_lr(&s, 0.5), 0.025, 1e-7);
    assert_close(nn_schedule_lr(&s, 3.0), 0.1, 1e-7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_and_reruns_bit_identically),
        cmocka_unit_test(test_thread_count_does_not_change_results),
        cmocka_unit_test(test_augmented_epochs_match_the_reference),
        cmocka_unit_test(test_divergence_stops_with_numeric_error),
        cmocka_unit_test(test_bad_training_arguments),
        cmocka_unit_test(test_evaluate_restores_the_mode),
        cmocka_unit_test(test_batchnorm_batch_of_one_outside_training),
        cmocka_unit_test(test_confusion_and_class_metrics),
        cmocka_unit_test(test_schedules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
