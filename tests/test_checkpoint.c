/* Checkpoints: resuming gives bit-identical weights, corrupt files are
 * refused, and a process killed in the middle of a save leaves the previous
 * checkpoint loadable. */
#include "gradcheck.h"
#include "io/io.h"
#include "optim/optim.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

enum { SIDE = 6, CLASSES = 3 };

/* In the working directory (the build tree): a real disk, where fsync takes
 * time, unlike a tmpfs /tmp. */
static char dir[] = "nn_ckpt_XXXXXX";

static void path_in_dir(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

#define CHAIN "conv3x3x4p1,bn,relu,pool2,dense3"
/* A residual graph: a block added to its input, dropout, a concat of two
 * outputs, batchnorm. */
#define GRAPH "conv3x3x4p1,bn,relu@a,conv3x3x4p1,bn,add(a),relu,dropout0.3@d," \
              "conv1x1x4(a),concat(d),pool2,dense3"

static nn_net *new_net_of(const char *spec)
{
    nn_net *net = NULL;
    assert_nn_ok(nn_net_create(1, SIDE, SIDE, &net));
    assert_nn_ok(nn_net_add_spec(net, spec, NULL, 0));
    assert_nn_ok(nn_net_build(net, 8, 3));
    return net;
}

static nn_net *new_net(void)
{
    return new_net_of(CHAIN);
}

static void run_epochs(nn_net *net, nn_optim *opt, const nn_dataset *d,
                       const nn_train_config *cfg, nn_train_state *ts, int until)
{
    nn_epoch_stats stats;
    for (; ts->epoch < until; ts->epoch++)
        assert_nn_ok(nn_train_epoch(net, opt, d, cfg, ts->epoch, &ts->rng, &stats));
}

/* spec trained 3 epochs straight on `threads` threads, and 1 epoch, saved
 * to a checkpoint, loaded and continued on `resumed_threads` threads: the
 * same weights, statistics and generator, bit for bit. */
static void check_resume(nn_optim_kind optimizer, const char *spec, int threads,
                         int resumed_threads)
{
    nn_dataset d;
    nn_train_config cfg = nn_train_defaults();
    nn_train_state straight = {.epoch = 0, .rng = {{0}}, .batch = 8};
    nn_train_state first = {.epoch = 0, .rng = {{0}}, .batch = 8}, resumed;
    nn_net *a = new_net_of(spec), *b = new_net_of(spec), *c = NULL;
    nn_optim *opt_a, *opt_b, *opt_c = NULL;
    char path[256], msg[256];
    cfg.epochs = cfg.schedule.total_epochs = 3;
    cfg.batch = 8;
    if (optimizer != NN_OPTIM_SGD)
        cfg.optim = nn_optim_defaults(optimizer);
    assert_nn_ok(nn_net_set_threads(a, threads));
    assert_nn_ok(nn_net_set_threads(b, threads));
    opt_a = tu_optim(a, &cfg.optim);
    opt_b = tu_optim(b, &cfg.optim);
    tu_make_dataset(&d, 40, SIDE, CLASSES, 77);
    nn_rng_seed(&straight.rng, 5);
    nn_rng_seed(&first.rng, 5);
    run_epochs(a, opt_a, &d, &cfg, &straight, 3);
    run_epochs(b, opt_b, &d, &cfg, &first, 1);
    path_in_dir(path, sizeof path, "resume.ckpt");
    assert_nn_ok(nn_checkpoint_save(b, opt_b, &first, path, msg, sizeof msg));
    nn_optim_destroy(opt_b);
    nn_net_destroy(b);
    if (nn_checkpoint_load(path, 8, &cfg.optim, &c, &opt_c, &resumed, msg,
                           sizeof msg) != NN_OK)
        fail_msg("%s", msg);
    assert_int_equal(resumed.epoch, 1);
    assert_int_equal(resumed.batch, 8);
    assert_nn_ok(nn_net_set_threads(c, resumed_threads));
    run_epochs(c, opt_c, &d, &cfg, &resumed, 3);
    assert_memory_equal(nn_net_params(a), nn_net_params(c),
                        nn_net_param_count(a) * sizeof(float));
    assert_memory_equal(nn_net_state(a), nn_net_state(c),
                        nn_net_state_count(a) * sizeof(float));
    assert_memory_equal(&straight.rng, &resumed.rng, sizeof straight.rng);
    nn_optim_destroy(opt_a);
    nn_optim_destroy(opt_c);
    nn_net_destroy(a);
    nn_net_destroy(c);
    nn_dataset_free(&d);
}

static void test_resume_is_bit_identical_sgd(void **state)
{
    (void)state;
    check_resume(NN_OPTIM_SGD, CHAIN, 1, 1);
}

static void test_resume_is_bit_identical_adam(void **state)
{
    (void)state;
    check_resume(NN_OPTIM_ADAM, CHAIN, 1, 1);
}

/* The residual graph, its run cut after epoch 1 and continued on another
 * number of threads (the bits do not depend on it). */
static void test_resume_graph_is_bit_identical(void **state)
{
    (void)state;
    check_resume(NN_OPTIM_SGD, GRAPH, 1, 3);
    check_resume(NN_OPTIM_ADAM, GRAPH, 4, 2);
}

static void test_corrupt_checkpoints_are_refused(void **state)
{
    nn_net *net = new_net(), *out = NULL;
    nn_optim_settings sgd = nn_optim_defaults(NN_OPTIM_SGD);
    nn_optim *opt = tu_optim(net, &sgd), *back_opt = NULL;
    nn_train_state ts = {.epoch = 2, .rng = {{1, 2, 3, 4}}, .batch = 16}, back;
    char path[256], bad[256], model[256], msg[256], cmd[1024];
    size_t size;
    (void)state;
    path_in_dir(path, sizeof path, "good.ckpt");
    path_in_dir(bad, sizeof bad, "bad.ckpt");
    path_in_dir(model, sizeof model, "model.nnm");
    assert_nn_ok(nn_checkpoint_save(net, opt, &ts, path, msg, sizeof msg));
    assert_nn_ok(nn_model_save(net, model, msg, sizeof msg));
    free(tu_read_file(path, &size));
    /* Truncated at several points. */
    for (size_t cut = 0; cut < size; cut += size / 7 + 1) {
        snprintf(cmd, sizeof cmd, "head -c %zu %s > %s", cut, path, bad);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(nn_checkpoint_load(bad, 8, NULL, &out, &back_opt, &back, msg, sizeof msg), NN_EFORMAT);
        assert_null(out);
    }
    /* One flipped byte in the middle: the checksum catches it. */
    snprintf(cmd, sizeof cmd, "cp %s %s && printf '\\377' | dd of=%s bs=1 seek=%ld conv=notrunc 2>/dev/null",
             path, bad, bad, (long)(size / 2));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(nn_checkpoint_load(bad, 8, NULL, &out, &back_opt, &back, msg, sizeof msg), NN_EFORMAT);
    print_message("  flipped byte: %s\n", msg);
    /* A model file is not a checkpoint, and a checkpoint is not a model. */
    assert_int_equal(nn_checkpoint_load(model, 8, NULL, &out, &back_opt, &back, msg, sizeof msg), NN_EFORMAT);
    assert_int_equal(nn_model_load(path, 8, &out, msg, sizeof msg), NN_EFORMAT);
    /* The good one loads, with its state. */
    assert_nn_ok(nn_checkpoint_load(path, 8, NULL, &out, &back_opt, &back, msg,
                                    sizeof msg));
    assert_int_equal(back.epoch, 2);
    assert_int_equal(back.batch, 16);
    assert_memory_equal(&back.rng, &ts.rng, sizeof ts.rng);
    nn_optim_destroy(back_opt);
    nn_optim_destroy(opt);
    nn_net_destroy(out);
    nn_net_destroy(net);
}

/* data (size bytes) with the u32 at `at` set to value (little-endian) and
 * the CRC-32 of the last 4 bytes made right again, written as path: a
 * checkpoint whose checksum holds but whose contents are wrong. */
static void write_patched(const char *path, unsigned char *data, size_t size,
                          size_t at, uint32_t value)
{
    uint32_t crc;
    for (int b = 0; b < 4; b++)
        data[at + (size_t)b] = (unsigned char)(value >> (8 * b));
    crc = nn_crc32(0, data, size - 4);
    for (int b = 0; b < 4; b++)
        data[size - 4 + (size_t)b] = (unsigned char)(crc >> (8 * b));
    tu_write_file(path, data, size);
}

/* The checkpoint at path is refused as malformed, its message holding
 * want (and never "(null)"). */
static void check_ckpt_refused(const char *path, const nn_optim_settings *want,
                               const char *message)
{
    nn_net *out = NULL;
    nn_optim *opt = NULL;
    nn_train_state back;
    char msg[256];
    assert_int_equal(nn_checkpoint_load(path, 8, want, &out, &opt, &back, msg,
                                        sizeof msg),
                     NN_EFORMAT);
    assert_null(out);
    assert_null(opt);
    print_message("  %s\n", strrchr(msg, '/') + 1);
    if (!strstr(msg, message) || strstr(msg, "(null)"))
        fail_msg("message '%s' lacks '%s'", msg, message);
}

/* A checkpoint whose checksum is right but whose optimizer state holds a
 * NaN or an infinity, or whose optimizer kind is no kind, is refused with a
 * message that says so. Before, the NaN loaded (training failed an epoch
 * later with "try a smaller --lr") and the kind printed as "(null)". */
static void test_checkpoints_with_wrong_values_are_refused(void **state)
{
    nn_net *net = new_net();
    nn_optim_settings adam = nn_optim_defaults(NN_OPTIM_ADAM);
    nn_optim *opt = tu_optim(net, &adam);
    nn_train_state ts = {.epoch = 1, .rng = {{5, 6, 7, 8}}, .batch = 16};
    char path[256], bad[256], msg[256];
    const uint32_t nan_bits = 0x7fc00000u, inf_bits = 0x7f800000u;
    size_t size, kind_at = 8 + 4 + 4 + 4 + 32 + 8 + 8; /* after the pass */
    unsigned char *data;
    (void)state;
    path_in_dir(path, sizeof path, "values.ckpt");
    path_in_dir(bad, sizeof bad, "values_bad.ckpt");
    assert_nn_ok(nn_checkpoint_save(net, opt, &ts, path, msg, sizeof msg));
    data = tu_read_file(path, &size);
    /* the last value of Adam's second moment, then the first moment's
     * first value (the second buffer's count and values come between) */
    const size_t n = nn_net_param_count(net);
    const size_t last = size - 4 - 4, first = last - 4 * n - 8 - 4 * (n - 1);
    for (int which = 0; which < 2; which++) {
        unsigned char *copy = malloc(size);
        assert_non_null(copy);
        memcpy(copy, data, size);
        write_patched(bad, copy, size, which ? first : last,
                      which ? inf_bits : nan_bits);
        check_ckpt_refused(bad, NULL, which ? "optimizer state 0 holds NaN "
                                              "or infinity"
                                            : "optimizer state 1 holds NaN "
                                              "or infinity");
        free(copy);
    }
    write_patched(bad, data, size, kind_at, 77);
    check_ckpt_refused(bad, NULL, "unknown optimizer kind 77");
    /* asked to resume with another optimizer, the unknown one has a number */
    check_ckpt_refused(bad, &adam, "unknown optimizer kind 77");
    free(data);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

/* One setting of nn_optim_settings: its name in messages, which kinds use
 * it, and how to change it. */
typedef struct {
    const char *name;
    unsigned kinds; /* 1 << kind for each kind that uses it */
    void (*change)(nn_optim_settings *s);
} setting;

static void change_momentum(nn_optim_settings *s) { s->momentum += 0.05f; }
static void change_momentum_kind(nn_optim_settings *s)
{
    s->momentum_kind = s->momentum_kind == NN_MOMENTUM_PYTORCH
                           ? NN_MOMENTUM_EMA : NN_MOMENTUM_PYTORCH;
}
static void change_nesterov(nn_optim_settings *s) { s->nesterov = !s->nesterov; }
static void change_beta1(nn_optim_settings *s) { s->beta1 = 0.8f; }
static void change_beta2(nn_optim_settings *s) { s->beta2 = 0.99f; }
static void change_alpha(nn_optim_settings *s) { s->alpha = 0.9f; }
static void change_eps(nn_optim_settings *s) { s->eps = 1e-6f; }
static void change_decay(nn_optim_settings *s) { s->weight_decay += 1e-3f; }
static void change_decay_all(nn_optim_settings *s) { s->decay_all = !s->decay_all; }

/* Resuming with any setting changed that the checkpoint's optimizer uses is
 * refused, naming the setting; a setting it does not use may differ (it
 * means nothing to that optimizer); the learning rate is the caller's (its
 * schedule sets it every epoch). Every setting of every kind. */
static void test_every_changed_setting_is_refused(void **state)
{
    enum { SGD = 1 << NN_OPTIM_SGD, ADAM = 1 << NN_OPTIM_ADAM,
           RMSPROP = 1 << NN_OPTIM_RMSPROP, ADAMW = 1 << NN_OPTIM_ADAMW };
    static const setting settings[] = {
        {"momentum", SGD | RMSPROP, change_momentum},
        {"momentum_kind", SGD, change_momentum_kind},
        {"nesterov", SGD, change_nesterov},
        {"beta1", ADAM | ADAMW, change_beta1},
        {"beta2", ADAM | ADAMW, change_beta2},
        {"alpha", RMSPROP, change_alpha},
        {"eps", ADAM | ADAMW | RMSPROP, change_eps},
        {"weight_decay", SGD | ADAM | RMSPROP | ADAMW, change_decay},
        {"decay_all", SGD | ADAM | RMSPROP | ADAMW, change_decay_all},
    };
    const nn_optim_kind kinds[] = {NN_OPTIM_SGD, NN_OPTIM_ADAM,
                                   NN_OPTIM_RMSPROP, NN_OPTIM_ADAMW};
    char path[256], msg[256];
    int refused = 0, allowed = 0;
    (void)state;
    path_in_dir(path, sizeof path, "settings.ckpt");
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        nn_net *net = new_net(), *out = NULL;
        nn_optim_settings saved = nn_optim_defaults(kinds[k]);
        nn_optim *opt, *back_opt = NULL;
        nn_train_state ts = {.epoch = 1, .rng = {{1, 2, 3, 4}}, .batch = 16};
        nn_train_state back;
        saved.momentum = 0.5f; /* used by SGD and RMSprop: not the default 0 */
        opt = tu_optim(net, &saved);
        assert_nn_ok(nn_checkpoint_save(net, opt, &ts, path, msg, sizeof msg));
        for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
            nn_optim_settings want = saved;
            int uses = (settings[i].kinds >> kinds[k]) & 1;
            nn_status st;
            settings[i].change(&want);
            st = nn_checkpoint_load(path, 8, &want, &out, &back_opt, &back,
                                    msg, sizeof msg);
            if (uses) {
                if (st != NN_ESTATE || !strstr(msg, settings[i].name))
                    fail_msg("%s, %s changed: status %d, '%s'",
                             nn_optim_name(kinds[k]), settings[i].name,
                             (int)st, msg);
                assert_null(out);
                refused++;
            } else {
                if (st != NN_OK)
                    fail_msg("%s, unused %s changed: '%s'",
                             nn_optim_name(kinds[k]), settings[i].name, msg);
                nn_optim_destroy(back_opt);
                nn_net_destroy(out);
                out = NULL;
                back_opt = NULL;
                allowed++;
            }
        }
        for (size_t j = 0; j < sizeof kinds / sizeof kinds[0]; j++) {
            nn_optim_settings want = nn_optim_defaults(kinds[j]);
            if (j == k)
                continue;
            assert_int_equal(nn_checkpoint_load(path, 8, &want, &out, &back_opt,
                                                &back, msg, sizeof msg),
                             NN_ESTATE);
            assert_non_null(strstr(msg, nn_optim_name(kinds[k])));
            refused++;
        }
        nn_optim_destroy(opt);
        nn_net_destroy(net);
    }
    print_message("  %d changes refused naming the setting, %d unused ones "
                  "allowed\n", refused, allowed);
}

/* Version 3 keeps the run's learning-rate schedule; a version 2 file (the
 * same without it, made here from a version 3 one) still loads, saying it
 * has none; a schedule of no kind is refused. */
static void test_schedule_is_kept_and_version_2_loads(void **state)
{
    enum { SCHEDULE_AT = 8 + 4 + 4 + 4 + 32 + 16 + 4 + 28 + 12, SCHEDULE = 28 };
    nn_net *net = new_net(), *out = NULL;
    nn_optim_settings sgd = nn_optim_defaults(NN_OPTIM_SGD);
    nn_optim *opt = tu_optim(net, &sgd), *back_opt = NULL;
    nn_train_state ts = {.epoch = 3, .rng = {{9, 8, 7, 6}}, .batch = 32}, back;
    char path[256], bad[256], msg[256];
    unsigned char *data, *v2;
    size_t size;
    (void)state;
    ts.schedule = (nn_schedule){NN_SCHEDULE_COSINE, 0.05f, 0.5f, 3, 7, 1e-4f,
                                1.5f};
    path_in_dir(path, sizeof path, "v3.ckpt");
    path_in_dir(bad, sizeof bad, "v2.ckpt");
    assert_nn_ok(nn_checkpoint_save(net, opt, &ts, path, msg, sizeof msg));
    assert_nn_ok(nn_checkpoint_load(path, 8, NULL, &out, &back_opt, &back, msg,
                                    sizeof msg));
    assert_int_equal(back.has_schedule, 1);
    assert_memory_equal(&back.schedule, &ts.schedule, sizeof ts.schedule);
    nn_optim_destroy(back_opt);
    nn_net_destroy(out);
    data = tu_read_file(path, &size);
    v2 = malloc(size);
    assert_non_null(v2);
    memcpy(v2, data, SCHEDULE_AT);
    memcpy(v2 + SCHEDULE_AT, data + SCHEDULE_AT + SCHEDULE,
           size - SCHEDULE_AT - SCHEDULE);
    write_patched(bad, v2, size - SCHEDULE, 8, 2);
    assert_nn_ok(nn_checkpoint_load(bad, 8, NULL, &out, &back_opt, &back, msg,
                                    sizeof msg));
    assert_int_equal(back.has_schedule, 0);
    assert_int_equal(back.epoch, 3);
    assert_int_equal(back.batch, 32);
    nn_optim_destroy(back_opt);
    nn_net_destroy(out);
    write_patched(bad, data, size, SCHEDULE_AT, 9);
    check_ckpt_refused(bad, NULL, "schedule is not valid (kind 9");
    free(v2);
    free(data);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

/* A child saves checkpoints of a large net in a loop, each with its epoch
 * number, and tells the parent through a pipe once the first is on disk;
 * the parent then kills it with SIGKILL at a random moment. Whatever the
 * moment, the file on disk must load, with parameters matching its epoch
 * (every parameter equals the epoch number). */
static void saver(const char *path, int ready)
{
    nn_net *net = NULL;
    nn_optim *opt = NULL;
    nn_optim_settings sgd = nn_optim_defaults(NN_OPTIM_SGD);
    nn_train_state ts = {.epoch = 0, .rng = {{0}}, .batch = 8};
    if (nn_net_create(1, 1, 1000, &net) != NN_OK ||
        nn_net_add_dense(net, 1500) != NN_OK || nn_net_build(net, 1, 1) != NN_OK ||
        nn_optim_create(net, &sgd, &opt) != NN_OK)
        _exit(2);
    for (ts.epoch = 1; ts.epoch < 1000; ts.epoch++) {
        float *w = nn_net_params(net);
        for (size_t i = 0; i < nn_net_param_count(net); i++)
            w[i] = (float)ts.epoch;
        if (nn_checkpoint_save(net, opt, &ts, path, NULL, 0) != NN_OK)
            _exit(3);
        if (ts.epoch == 1 && write(ready, "1", 1) != 1)
            _exit(4);
    }
    _exit(0);
}

static void test_kill_during_save_keeps_a_loadable_checkpoint(void **state)
{
    char path[256], msg[256], byte;
    nn_rng rng;
    int rounds = 12, loaded = 0;
    (void)state;
    path_in_dir(path, sizeof path, "killed.ckpt");
    nn_rng_seed(&rng, (uint64_t)time(NULL));
    for (int round = 0; round < rounds; round++) {
        int fds[2];
        pid_t pid;
        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            saver(path, fds[1]);
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], &byte, 1), 1); /* first save done */
        close(fds[0]);
        {
            struct timespec pause = {0, (long)nn_rng_below(&rng, 300000000U)};
            nanosleep(&pause, NULL);
        }
        assert_int_equal(kill(pid, SIGKILL), 0);
        waitpid(pid, NULL, 0);
        {
            nn_net *net = NULL;
            nn_optim *opt = NULL;
            nn_train_state ts;
            float *w;
            if (nn_checkpoint_load(path, 1, NULL, &net, &opt, &ts, msg,
                                   sizeof msg) != NN_OK)
                fail_msg("round %d: %s", round, msg);
            nn_optim_destroy(opt);
            w = nn_net_params(net);
            assert_true(ts.epoch >= 1);
            assert_true(w[0] == (float)ts.epoch);
            assert_true(w[nn_net_param_count(net) - 1] == (float)ts.epoch);
            nn_net_destroy(net);
            loaded++;
        }
    }
    print_message("  %d kills after the first save, %d of them in the middle of "
                  "writing (temporary file left), checkpoint loadable after "
                  "each\n", rounds, tu_count_entries(dir, "killed.ckpt.tmp."));
    assert_int_equal(loaded, rounds);
}

/* tests/fixtures/checkpoint_v1.ckpt was written by libnn before the
 * optimizer became its own object (cifar10_train --model pool8,dense10
 * --epochs 1 --batch 8 on 100 generated images: 13 SGD steps with momentum
 * 0.9 and weight decay 5e-4). It did not record its optimizer: it loads
 * with the one asked for, and is refused without one. */
static void test_version_1_checkpoint_loads(void **state)
{
    const char *root = getenv("NN_SOURCE_DIR");
    nn_optim_settings sgd = tu_sgd(0.05f, 0.9f, 5e-4f);
    nn_net *net = NULL;
    nn_optim *opt = NULL;
    nn_train_state ts;
    char path[4096], msg[256];
    size_t count, nonzero = 0;
    const float *velocity;
    (void)state;
    snprintf(path, sizeof path, "%s/tests/fixtures/checkpoint_v1.ckpt",
             root ? root : ".");
    assert_int_equal(nn_checkpoint_load(path, 8, NULL, &net, &opt, &ts, msg,
                                        sizeof msg), NN_EINVAL);
    assert_non_null(strstr(msg, "does not say which optimizer"));
    assert_null(net);
    if (nn_checkpoint_load(path, 8, &sgd, &net, &opt, &ts, msg, sizeof msg) != NN_OK)
        fail_msg("%s", msg);
    assert_int_equal(ts.epoch, 1);
    assert_int_equal(ts.batch, 0); /* version 1 did not record it */
    assert_int_equal(nn_optim_steps(opt), 13);
    assert_int_equal(nn_net_param_count(net), 490);
    velocity = nn_optim_state(opt, 0, &count);
    assert_int_equal(count, 490);
    for (size_t i = 0; i < count; i++)
        nonzero += velocity[i] != 0.0f;
    assert_true(nonzero > 400);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_is_bit_identical_sgd),
        cmocka_unit_test(test_resume_is_bit_identical_adam),
        cmocka_unit_test(test_resume_graph_is_bit_identical),
        cmocka_unit_test(test_version_1_checkpoint_loads),
        cmocka_unit_test(test_corrupt_checkpoints_are_refused),
        cmocka_unit_test(test_checkpoints_with_wrong_values_are_refused),
        cmocka_unit_test(test_every_changed_setting_is_refused),
        cmocka_unit_test(test_schedule_is_kept_and_version_2_loads),
        cmocka_unit_test(test_kill_during_save_keeps_a_loadable_checkpoint),
    };
    return TU_RUN_IN_DIR(tests, dir);
}
