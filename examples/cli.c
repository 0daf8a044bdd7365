/* Shared code of the command-line trainers: see cli.h. */
#include "cli.h"
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void cli_defaults(cli_options *o, const char *default_model)
{
    memset(o, 0, sizeof *o);
    o->model = default_model;
    o->train = nn_train_defaults();
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;
    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

int cli_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v;
    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

static void usage(FILE *f, const char *program, const char *data_help)
{
    fprintf(f,
            "usage: %s [options]\n"
            "  --data DIR            %s\n"
            "  --model NAME|SPEC     preset (mlp, lenet, deep, deep-bn, vgg, vgg-gap) or\n"
            "                        a spec such as conv3x3x32p1,bn,relu,pool2,dense10\n"
            "                        (its layer tokens: --help-layers)\n"
            "  --epochs N            passes over the training set (10)\n"
            "  --batch N             minibatch size (64)\n"
            "  --lr X                base learning rate (0.05; other optimizers:\n"
            "                        their PyTorch default)\n"
            "  --momentum X          SGD and RMSprop momentum (0.9)\n"
            "  --weight-decay X      L2 weight decay on weights (5e-4; AdamW:\n"
            "                        decoupled, 0.01; Adam, RMSprop: 0)\n"
            "  --nesterov            Nesterov momentum\n"
            "  --optimizer NAME      sgd, adam, rmsprop or adamw (sgd)\n"
            "  --schedule KIND       constant, step, exp or cosine (cosine)\n"
            "  --gamma X             factor of the step and exp schedules (0.1)\n"
            "  --warmup X            epochs of linear warm-up (0)\n"
            "  --seed N              initialisation and shuffling seed (1)\n"
            "  --threads N           worker threads (all online CPUs)\n"
            "  --kernels KIND        auto (fastest here), portable (plain C) or\n"
            "                        reference (textbook im2col + gemm) (auto)\n"
            "  --limit N             train on the first N images only\n"
            "  --save FILE           save the trained model\n"
            "  --json FILE           write metrics as JSON\n"
            "  --report DIR          write an HTML report with pictures\n"
            "  --checkpoint FILE     save model and training state after every epoch\n"
            "  --resume FILE         continue a run from its checkpoint (same options)\n"
            "  --init FILE           start from a model's architecture and weights\n"
            "                        (.nnm or .onnx) to fine-tune it\n"
            "  --quiet               only the final accuracy\n"
            "  --help                this text\n",
            program, data_help);
}

/* One option and its value: a table keeps the parser flat. */
typedef struct {
    const char *name;
    int takes_value;
} option_def;

static const option_def options[] = {
    {"--data", 1}, {"--model", 1}, {"--epochs", 1}, {"--batch", 1},
    {"--lr", 1}, {"--momentum", 1}, {"--weight-decay", 1},
    {"--nesterov", 0}, {"--optimizer", 1}, {"--schedule", 1},
    {"--gamma", 1}, {"--warmup", 1}, {"--seed", 1}, {"--threads", 1},
    {"--kernels", 1}, {"--limit", 1}, {"--save", 1}, {"--json", 1}, {"--report", 1},
    {"--checkpoint", 1}, {"--resume", 1}, {"--init", 1},
    {"--quiet", 0}, {"--help", 0}, {"--help-layers", 0},
};

/* Applies one option; 0 when its value is not acceptable. */
static int apply(cli_options *o, const char *name, const char *value)
{
    nn_train_config *t = &o->train;
    long l;
    double d;
    if (!strcmp(name, "--data"))
        o->data_dir = value;
    else if (!strcmp(name, "--model")) {
        o->model = value;
        o->model_given = 1;
    } else if (!strcmp(name, "--init"))
        o->init_path = value;
    else if (!strcmp(name, "--save"))
        o->save_path = value;
    else if (!strcmp(name, "--json"))
        o->json_path = value;
    else if (!strcmp(name, "--report"))
        o->report_dir = value;
    else if (!strcmp(name, "--checkpoint"))
        o->checkpoint_path = value;
    else if (!strcmp(name, "--resume"))
        o->resume_path = value;
    else if (!strcmp(name, "--nesterov"))
        t->optim.nesterov = 1;
    else if (!strcmp(name, "--quiet"))
        o->quiet = 1;
    else if (!strcmp(name, "--epochs")) {
        if (!cli_parse_long(value, 1, 10000, &l))
            return 0;
        t->epochs = t->schedule.total_epochs = (int)l;
    } else if (!strcmp(name, "--batch")) {
        if (!cli_parse_long(value, 1, 65536, &l))
            return 0;
        t->batch = (int)l;
    } else if (!strcmp(name, "--seed")) {
        if (!cli_parse_long(value, 0, 0x7fffffffL, &l))
            return 0;
        t->seed = (uint64_t)l;
    } else if (!strcmp(name, "--threads")) {
        if (!cli_parse_long(value, 1, 256, &l))
            return 0;
        o->threads = (int)l;
    } else if (!strcmp(name, "--kernels")) {
        if (!strcmp(value, "auto"))
            o->kernels = NN_KERNELS_AUTO;
        else if (!strcmp(value, "portable"))
            o->kernels = NN_KERNELS_PORTABLE;
        else if (!strcmp(value, "reference"))
            o->kernels = NN_KERNELS_REFERENCE;
        else
            return 0;
    } else if (!strcmp(name, "--limit")) {
        if (!cli_parse_long(value, 1, 0x7fffffffL, &l))
            return 0;
        o->limit = l;
    } else if (!strcmp(name, "--lr")) {
        if (!cli_parse_double(value, 1e-9, 100.0, &d))
            return 0;
        t->schedule.lr = (float)d;
        o->lr_given = 1;
    } else if (!strcmp(name, "--momentum")) {
        if (!cli_parse_double(value, 0.0, 0.9999, &d))
            return 0;
        t->optim.momentum = (float)d;
        o->momentum_given = 1;
    } else if (!strcmp(name, "--weight-decay")) {
        if (!cli_parse_double(value, 0.0, 1.0, &d))
            return 0;
        t->optim.weight_decay = (float)d;
        o->weight_decay_given = 1;
    } else if (!strcmp(name, "--gamma")) {
        if (!cli_parse_double(value, 1e-6, 1.0, &d))
            return 0;
        t->schedule.gamma = (float)d;
    } else if (!strcmp(name, "--warmup")) {
        if (!cli_parse_double(value, 0.0, 10000.0, &d))
            return 0;
        t->schedule.warmup_epochs = (float)d;
    } else if (!strcmp(name, "--optimizer")) {
        if (nn_optimizer_from_name(value, &t->optim.kind) != NN_OK)
            return 0;
    } else if (!strcmp(name, "--schedule")) {
        static const char *kinds[] = {"constant", "step", "exp", "cosine"};
        int k;
        for (k = 0; k < 4 && strcmp(value, kinds[k]); k++)
            ;
        if (k == 4)
            return 0;
        t->schedule.kind = (nn_schedule_kind)k;
    }
    return 1;
}

/* Optimizers other than SGD start from their own (PyTorch's) learning
 * rate, weight decay and momentum unless the flags set them. */
static void apply_optimizer_defaults(cli_options *o)
{
    nn_optim_settings *s = &o->train.optim;
    nn_optim_settings d = nn_optim_defaults(s->kind);
    if (s->kind == NN_OPTIMIZER_SGD)
        return;
    if (!o->lr_given)
        o->train.schedule.lr = d.lr;
    if (!o->weight_decay_given)
        s->weight_decay = d.weight_decay;
    if (!o->momentum_given)
        s->momentum = d.momentum;
}

/* The layer tokens a spec may use, from the library's table of kinds. */
static void usage_layers(FILE *f)
{
    const char *name, *grammar;
    fprintf(f, "layer tokens of --model specs (comma-separated):\n");
    for (int i = 0; (grammar = nn_spec_grammar(i, &name)) != NULL; i++)
        fprintf(f, "  %-22s %s\n", grammar, name);
}

/* Checks a --model value's syntax before any data is read (whether it
 * fits the data's shape is known only once the data is loaded). */
static int spec_syntax_ok(const char *spec, const char *program)
{
    nn_net *probe = NULL;
    char msg[256] = "";
    nn_status st = nn_net_create(1, 1, 1, &probe);
    if (st == NN_OK)
        st = nn_net_add_spec(probe, spec, msg, sizeof msg);
    nn_net_destroy(probe);
    if (st != NN_OK)
        fprintf(stderr, "%s: --model: %s\n", program, msg[0] ? msg : nn_status_str(st));
    return st == NN_OK;
}

int cli_parse(int argc, char **argv, cli_options *o, const char *program,
              const char *data_help)
{
    for (int i = 1; i < argc; i++) {
        const option_def *def = NULL;
        for (size_t k = 0; k < sizeof options / sizeof *options; k++)
            if (!strcmp(argv[i], options[k].name))
                def = &options[k];
        if (!def) {
            fprintf(stderr, "%s: unknown option '%s'\n", program, argv[i]);
            usage(stderr, program, data_help);
            return CLI_USAGE;
        }
        if (!strcmp(def->name, "--help")) {
            usage(stdout, program, data_help);
            return -1;
        }
        if (!strcmp(def->name, "--help-layers")) {
            usage_layers(stdout);
            return -1;
        }
        if (def->takes_value && i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", program, def->name);
            return CLI_USAGE;
        }
        if (!apply(o, def->name, def->takes_value ? argv[i + 1] : NULL)) {
            fprintf(stderr, "%s: bad value '%s' for %s (see --help)\n",
                    program, argv[i + 1], def->name);
            return CLI_USAGE;
        }
        i += def->takes_value;
    }
    if (!spec_syntax_ok(o->model, program))
        return CLI_USAGE;
    apply_optimizer_defaults(o);
    return CLI_OK;
}

/* ------------------------------------------------------------- progress */

typedef struct {
    int tty;
    int quiet;
} progress_state;

static void format_duration(char *buf, size_t size, double seconds)
{
    long s = seconds > 0 && seconds < 1e7 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

/* A bar with ETA and images/s, redrawn in place on a terminal. */
static void on_batch(void *user, const nn_progress *p)
{
    const progress_state *ps = user;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1], eta[32];
    double frac = (double)p->done / p->total;
    double rate = p->seconds > 0 ? p->done / p->seconds : 0;
    int fill = (int)(frac * WIDTH);
    if (!ps->tty || ps->quiet)
        return;
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[WIDTH] = '\0';
    format_duration(eta, sizeof eta, rate > 0 ? (p->total - p->done) / rate : 0);
    fprintf(stderr, "\repoch %d/%d [%s] %3.0f%% loss %.4f %6.0f img/s ETA %s ",
            p->epoch + 1, p->epochs, bar, 100 * frac, p->loss, rate, eta);
    fflush(stderr);
}

/* --------------------------------------------------------------- models */

int cli_has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    return n >= k && strcmp(path + n - k, suffix) == 0;
}

nn_status cli_load_model(const char *path, int max_batch, int inference,
                         nn_net **out, char *msg, size_t msg_size)
{
    if (cli_has_suffix(path, ".onnx"))
        return nn_onnx_load(path, max_batch, inference, out, msg, msg_size);
    return inference ? nn_model_load_inference(path, max_batch, out, msg, msg_size)
                     : nn_model_load(path, max_batch, out, msg, msg_size);
}

/* ------------------------------------------------------------- reports */

void cli_print_layers(FILE *f, nn_net *net)
{
    int c, h, w;
    size_t total = 0;
    nn_net_input_shape(net, &c, &h, &w);
    fprintf(f, "%-4s %-10s %-16s %12s\n", "#", "layer", "output (c,h,w)", "parameters");
    fprintf(f, "%-4s %-10s %5d,%4d,%4d    %12s\n", "-", "input", c, h, w, "0");
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        if (nn_net_layer_info(net, i, &info) != NN_OK)
            continue;
        fprintf(f, "%-4d %-10s %5d,%4d,%4d    %12zu\n", i, info.kind,
                info.out_c, info.out_h, info.out_w, info.params);
        total += info.params;
    }
    fprintf(f, "total trainable parameters: %zu\n", total);
}

static void print_confusion(FILE *f, const long *m, int classes,
                            const char *const *names)
{
    fprintf(f, "confusion matrix (rows: true class, columns: predicted)\n%12s", "");
    for (int j = 0; j < classes; j++)
        fprintf(f, " %6d", j);
    fprintf(f, "\n");
    for (int i = 0; i < classes; i++) {
        fprintf(f, "%2d %-9.9s", i, names[i]);
        for (int j = 0; j < classes; j++)
            fprintf(f, " %6ld", m[i * classes + j]);
        fprintf(f, "\n");
    }
}

static void print_class_metrics(FILE *f, const float *p, const float *r,
                                const float *f1, int classes,
                                const char *const *names)
{
    fprintf(f, "%-14s %9s %9s %9s\n", "class", "precision", "recall", "F1");
    for (int k = 0; k < classes; k++)
        fprintf(f, "%2d %-11.11s %9.4f %9.4f %9.4f\n", k, names[k], p[k], r[k], f1[k]);
}

/* Writes --json with the report's JSON writer; 1 on success. */
static int save_json(const char *path, const report_run *run)
{
    FILE *f = fopen(path, "w");
    int ok;
    if (!f)
        return 0;
    ok = report_write_json(f, run);
    return fclose(f) == 0 && ok;
}

/* ------------------------------------------------------------- the run */

int cli_load(const char *program, const cli_options *o, const char *dir,
             cli_load_fn load, const char *hint, nn_dataset *train,
             nn_dataset *test)
{
    char msg[512];
    nn_status st = load(dir, 1, train, msg, sizeof msg);
    if (st == NN_OK)
        st = load(dir, 0, test, msg, sizeof msg);
    if (st == NN_OK)
        return CLI_OK;
    fprintf(stderr, "%s: %s\n", program, msg);
    if (!o->data_dir)
        fprintf(stderr, "%s\n", hint);
    nn_dataset_free(train);
    nn_dataset_free(test);
    return CLI_FAIL;
}

/* 1 when a loaded net (--resume, --init) is the --model architecture;
 * else msg says how they differ. */
static int same_model(const cli_options *o, nn_net *net, char *msg,
                      size_t msg_size)
{
    char have[4096], want[4096] = "";
    nn_net *probe = NULL;
    int c, h, w, same;
    nn_net_input_shape(net, &c, &h, &w);
    if (nn_net_spec(net, have, sizeof have) != NN_OK)
        return 0;
    if (nn_net_create(c, h, w, &probe) == NN_OK &&
        nn_net_add_spec(probe, o->model, NULL, 0) == NN_OK)
        nn_net_spec(probe, want, sizeof want);
    nn_net_destroy(probe);
    same = strcmp(have, want) == 0;
    if (!same)
        snprintf(msg, msg_size, "the file's model is %.200s, --model asks "
                 "for %.200s", have, o->model);
    return same;
}

/* The --init model, which must fit the data: its input shape, and as many
 * outputs as there are classes; and --model, when given, must be its
 * architecture. */
static nn_status init_net(const cli_options *o, const nn_dataset *d,
                          nn_net **out, char *msg, size_t msg_size)
{
    nn_net *net = NULL;
    nn_tensor *y;
    int c, h, w;
    nn_status st = cli_load_model(o->init_path, o->train.batch, 0, &net, msg,
                                  msg_size);
    if (st != NN_OK)
        return st;
    nn_net_input_shape(net, &c, &h, &w);
    y = nn_net_output(net);
    if (c != d->c || h != d->h || w != d->w ||
        y->c * y->h * y->w != d->classes) {
        snprintf(msg, msg_size, "--init %s: the model takes %dx%dx%d inputs "
                 "into %d outputs; the data has %dx%dx%d images of %d classes",
                 o->init_path, c, h, w, y->c * y->h * y->w, d->c, d->h, d->w,
                 d->classes);
        st = NN_ESHAPE;
    } else if (o->model_given && !same_model(o, net, msg, msg_size))
        st = NN_ESHAPE;
    if (st != NN_OK) {
        nn_net_destroy(net);
        return st;
    }
    *out = net;
    return NN_OK;
}

static nn_status build_net(const cli_options *o, const nn_dataset *d,
                           nn_net **out, char *msg, size_t msg_size)
{
    nn_net *net = NULL;
    nn_status st;
    if (o->init_path)
        return init_net(o, d, out, msg, msg_size);
    st = nn_net_create(d->c, d->h, d->w, &net);
    if (st == NN_OK)
        st = nn_net_add_spec(net, o->model, msg, msg_size);
    if (st == NN_OK)
        st = nn_net_build(net, o->train.batch, o->train.seed);
    if (st != NN_OK) {
        if (!msg[0])
            snprintf(msg, msg_size, "model '%s' does not fit %dx%dx%d inputs: %s",
                     o->model, d->c, d->h, d->w, nn_status_str(st));
        nn_net_destroy(net);
        return st;
    }
    *out = net;
    return NN_OK;
}

int cli_run(const cli_options *o, nn_dataset *train, nn_dataset *test,
            const char *const *class_names)
{
    char msg[512] = "";
    nn_net *net = NULL;
    nn_optim *opt = NULL;
    nn_train_config cfg = o->train;
    progress_state ps = {isatty(fileno(stderr)), o->quiet};
    report_epoch *epochs = NULL;
    report_run run;
    int classes = test->classes, *predicted = NULL, rc = CLI_FAIL, report_ok = 1;
    long *m = NULL;
    float p[256], r[256], f1[256];
    nn_train_state ts;
    nn_status st;

    if (classes > 256 || train->classes != classes) {
        fprintf(stderr, "error: training and test sets disagree on classes\n");
        return CLI_FAIL;
    }
    if (o->limit > 0 && o->limit < train->count)
        train->count = (int)o->limit;
    nn_rng_seed(&ts.rng, cfg.seed ^ 0x7261696e696e67ULL);
    ts.epoch = 0;
    if (o->resume_path) {
        cfg.optim.lr = cfg.schedule.lr;
        if (nn_checkpoint_load(o->resume_path, cfg.batch, &cfg.optim, &net,
                               &opt, &ts, msg, sizeof msg) != NN_OK) {
            fprintf(stderr, "error: --resume: %s\n", msg);
            return CLI_FAIL;
        }
        if (!same_model(o, net, msg, sizeof msg)) {
            fprintf(stderr, "error: --resume: %s\n", msg);
            goto done;
        }
        if (ts.epoch >= cfg.epochs) {
            fprintf(stderr, "error: --resume: %s has done %d epochs already "
                            "(--epochs %d)\n", o->resume_path, ts.epoch, cfg.epochs);
            goto done;
        }
        if (!o->quiet)
            printf("resuming %s after epoch %d\n", o->resume_path, ts.epoch);
    } else if ((st = build_net(o, train, &net, msg, sizeof msg)) != NN_OK) {
        fprintf(stderr, "error: %s\n", msg);
        return o->init_path && st != NN_ESHAPE ? CLI_FAIL : CLI_USAGE;
    } else if ((st = nn_optim_create(net, &cfg.optim, &opt)) != NN_OK) {
        fprintf(stderr, "error: optimizer settings: %s\n", nn_status_str(st));
        goto done;
    }
    nn_net_set_normalization(net, train->mean, train->std);
    nn_net_set_kernels(net, o->kernels); /* a value the parser checked */
    if ((st = nn_net_set_threads(net, o->threads)) != NN_OK) {
        fprintf(stderr, "error: --threads %d: %s\n", o->threads, nn_status_str(st));
        goto done;
    }
    cfg.on_batch = on_batch;
    cfg.user = &ps;
    epochs = calloc((size_t)cfg.epochs, sizeof *epochs);
    predicted = malloc(sizeof *predicted * (size_t)test->count);
    m = malloc(sizeof *m * (size_t)classes * classes);
    if (!epochs || !predicted || !m) {
        fprintf(stderr, "error: out of memory\n");
        goto done;
    }
    if (!o->quiet) {
        char spec[4096];
        if (nn_net_spec(net, spec, sizeof spec) == NN_OK)
            printf("model: %s\n", spec);
        printf("training on %d images, testing on %d, batch %d, %d epochs, %d thread%s\n",
               train->count, test->count, cfg.batch, cfg.epochs,
               nn_net_threads(net), nn_net_threads(net) == 1 ? "" : "s");
        cli_print_layers(stdout, net);
        fflush(stdout);
    }
    if (o->report_dir && !report_prepare(o->report_dir, msg, sizeof msg)) {
        fprintf(stderr, "error: --report: %s\n", msg);
        goto done;
    }
    run = (report_run){&cfg, net, train, test, class_names, epochs, 0,
                       ts.epoch, predicted, m, p, r, f1};
    for (int e = ts.epoch; e < cfg.epochs; e++) {
        report_epoch *rec = &epochs[e];
        st = nn_train_epoch(net, opt, train, &cfg, e, &ts.rng, &rec->train);
        if (st == NN_OK)
            st = nn_evaluate(net, test, predicted, &rec->test_loss, &rec->test_accuracy);
        if (ps.tty && !o->quiet)
            fprintf(stderr, "\r%100s\r", "");
        if (st != NN_OK) {
            fprintf(stderr, "error: epoch %d: %s%s%s%s\n", e + 1,
                    nn_status_str(st), rec->train.message[0] ? ": " : "",
                    rec->train.message,
                    st == NN_ENUMERIC ? " (try a smaller --lr)" : "");
            goto done;
        }
        if (!o->quiet) {
            printf("epoch %2d/%d  lr %.4g  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  %.1f s  %.0f img/s\n",
                   e + 1, cfg.epochs, rec->train.lr, rec->train.train_loss,
                   100 * rec->train.train_accuracy, rec->test_loss,
                   100 * rec->test_accuracy, rec->train.seconds,
                   rec->train.images_per_second);
            fflush(stdout);
        }
        nn_confusion(predicted, test->labels, test->count, classes, m);
        nn_class_metrics(m, classes, p, r, f1);
        run.epochs_done = e + 1;
        ts.epoch = e + 1;
        if (o->checkpoint_path &&
            nn_checkpoint_save(net, opt, &ts, o->checkpoint_path, msg,
                               sizeof msg) != NN_OK) {
            fprintf(stderr, "error: --checkpoint: %s\n", msg);
            goto done;
        }
        if (o->report_dir && report_ok &&
            !(report_ok = report_write(o->report_dir, &run, msg, sizeof msg)))
            fprintf(stderr, "error: --report: %s (no more report updates)\n", msg);
    }
    if (!o->quiet) {
        print_confusion(stdout, m, classes, class_names);
        print_class_metrics(stdout, p, r, f1, classes, class_names);
    }
    printf("test accuracy: %.2f%%\n", 100 * epochs[cfg.epochs - 1].test_accuracy);
    rc = report_ok ? CLI_OK : CLI_FAIL;
    if (o->report_dir && report_ok && !o->quiet)
        printf("report written to %s/index.html\n", o->report_dir);
    if (o->json_path && !save_json(o->json_path, &run)) {
        fprintf(stderr, "error: cannot write %s\n", o->json_path);
        rc = CLI_FAIL;
    }
    if (o->save_path) {
        st = nn_model_save(net, o->save_path, msg, sizeof msg);
        if (st != NN_OK) {
            fprintf(stderr, "error: saving %s: %s\n", o->save_path, msg);
            rc = CLI_FAIL;
        } else if (!o->quiet)
            printf("model saved to %s\n", o->save_path);
    }
done:
    free(epochs);
    free(predicted);
    free(m);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    return rc;
}
