/* Shared code of the command-line trainers: the training run with its
 * progress display and final report (see cli.h; the options are in
 * cli_options.c). */
#include "cli.h"
#include "cli_file.h"
#include "cli_model.h"
#include "cli_time.h"
#include "nn/advanced.h"
#include "diagnostics.h"
#include "report.h"

#include <dirent.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------- progress */

typedef struct {
    int tty;
    int quiet;
} progress_state;

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
    cli_format_duration(eta, sizeof eta, rate > 0 ? (p->total - p->done) / rate : 0);
    fprintf(stderr, "\repoch %d/%d [%s] %3.0f%% loss %.4f %6.0f img/s ETA %s ",
            p->epoch + 1, p->epochs, bar, 100 * frac, p->loss, rate, eta);
    fflush(stderr);
}

/* ------------------------------------------------------------- reports */

/* The longest of the class names, and at least `least` (a column's
 * title), so that the tables show every name whole. */
static int name_width(const char *const *names, int classes, int least)
{
    int width = least;
    for (int k = 0; k < classes; k++)
        if ((int)strlen(names[k]) > width)
            width = (int)strlen(names[k]);
    return width;
}

static void print_confusion(FILE *f, const long *m, int classes,
                            const char *const *names)
{
    int width = name_width(names, classes, 9);
    fprintf(f, "confusion matrix (rows: true class, columns: predicted)\n%*s",
            width + 3, "");
    for (int j = 0; j < classes; j++)
        fprintf(f, " %6d", j);
    fprintf(f, "\n");
    for (int i = 0; i < classes; i++) {
        fprintf(f, "%2d %-*s", i, width, names[i]);
        for (int j = 0; j < classes; j++)
            fprintf(f, " %6ld", m[i * classes + j]);
        fprintf(f, "\n");
    }
}

static void print_class_metrics(FILE *f, const float *p, const float *r,
                                const float *f1, int classes,
                                const char *const *names)
{
    int width = name_width(names, classes, 11);
    fprintf(f, "%-*s %9s %9s %9s\n", width + 3, "class", "precision", "recall",
            "F1");
    for (int k = 0; k < classes; k++)
        fprintf(f, "%2d %-*s %9.4f %9.4f %9.4f\n", k, width, names[k], p[k],
                r[k], f1[k]);
}

static int json_text(FILE *f, const void *run)
{
    return report_write_json(f, run);
}

/* Writes --json with the report's JSON writer, atomically; 1 on success,
 * else msg says why and an existing file is left as it was. */
static int save_json(const char *path, const report_run *run, char *msg,
                     size_t msg_size)
{
    return report_write_file(path, json_text, run, msg, msg_size);
}

/* ------------------------------------------------------------- the run */

/* 1 when directory dir holds an entry whose name contains marker. */
static int has_data_file(const char *dir, const char *marker)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d)) != NULL)
        found = strstr(e->d_name, marker) != NULL;
    if (d)
        closedir(d);
    return found;
}

int cli_load(const char *program, const char *dir, const cli_data_kind *kind,
             nn_dataset *train, nn_dataset *test)
{
    char msg[512], copy[4096];
    struct stat st;
    nn_status status = NN_EIO;
    snprintf(copy, sizeof copy, "%s", dir);
    if (stat(dir, &st) != 0)
        snprintf(msg, sizeof msg, "--data %s: no such directory", dir);
    else if (!S_ISDIR(st.st_mode))
        snprintf(msg, sizeof msg, "--data %s: is %s, not a directory: give the "
                 "directory that holds the data files (%s)%s%s", dir,
                 cli_file_kind(st.st_mode), kind->files,
                 S_ISREG(st.st_mode) ? ", here --data " : "",
                 S_ISREG(st.st_mode) ? dirname(copy) : "");
    else if (!has_data_file(dir, kind->marker))
        snprintf(msg, sizeof msg, "--data %s: the directory holds no data files "
                 "(%s)", dir, kind->files);
    else if ((status = kind->load(dir, 1, train, msg, sizeof msg)) == NN_OK)
        status = kind->load(dir, 0, test, msg, sizeof msg);
    if (status == NN_OK)
        return CLI_OK;
    fprintf(stderr, "%s: %s\n%s\n", program, msg, kind->hint);
    nn_dataset_free(train);
    nn_dataset_free(test);
    return CLI_FAIL;
}

/* bytes in GiB (or MiB below one GiB) into buf. */
static void format_bytes(char *buf, size_t size, double bytes)
{
    if (bytes >= 1073741824.0)
        snprintf(buf, size, "%.1f GiB", bytes / 1073741824.0);
    else
        snprintf(buf, size, "%.1f MiB", bytes / 1048576.0);
}

/* Plans the run's memory (net, activations for --batch, optimizer) before
 * anything is allocated and refuses what the sizes overflow or what needs
 * more than the machine's physical memory; 0 with msg giving both figures.
 * A model that does not fit the data passes: build_net names the problem. */
static int memory_fits(const cli_options *o, const nn_dataset *d, char *msg,
                       size_t msg_size)
{
    nn_net *probe = NULL;
    size_t need = 0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double have = pages > 0 && page > 0 ? (double)pages * (double)page : 0;
    char need_text[32], have_text[32];
    nn_status st = nn_net_create(d->c, d->h, d->w, &probe);
    if (st == NN_OK)
        st = nn_net_add_spec(probe, o->model, NULL, 0);
    if (st == NN_OK)
        st = nn_net_set_threads(probe, o->threads);
    if (st == NN_OK)
        st = nn_net_set_shards(probe, o->shards);
    if (st == NN_OK)
        st = nn_train_memory(probe, o->train.batch, o->train.optim.kind, &need);
    nn_net_destroy(probe);
    if (st == NN_EOVERFLOW) {
        snprintf(msg, msg_size, "model %.200s on %dx%dx%d inputs with --batch "
                 "%d is beyond libnn's size limits (%s)", o->model, d->c, d->h,
                 d->w, o->train.batch, nn_status_str(st));
        return 0;
    }
    if (st != NN_OK || have == 0 || (double)need <= have)
        return 1;
    format_bytes(need_text, sizeof need_text, (double)need);
    format_bytes(have_text, sizeof have_text, have);
    snprintf(msg, msg_size, "--batch %d: training model %.200s needs %s of "
             "memory, more than this machine's %s", o->train.batch, o->model,
             need_text, have_text);
    return 0;
}

/* The net's outputs per image: one score per class it can tell apart. */
static int outputs_per_image(nn_net *net)
{
    const nn_tensor *out = nn_net_output(net);
    return out->c * out->h * out->w;
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
        snprintf(msg, msg_size, "the file's model is %.200s, %s %.200s%s",
                 have, o->model_given ? "--model asks for" : "not the default "
                 "model", o->model, o->model_given ? "" : " (no --model was "
                 "given)");
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
    char why[400] = "";
    nn_status st = cli_load_model(o->init_path, o->train.batch, 0, &net, why,
                                  sizeof why);
    if (st != NN_OK) {
        snprintf(msg, msg_size, "--init: %s", why);
        return st;
    }
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
    if (!o->quiet)
        printf("initialised from %s: %d layer%s, %zu parameters\n",
               o->init_path, nn_net_layer_count(net),
               cli_plural(nn_net_layer_count(net)), nn_net_param_count(net));
    *out = net;
    return NN_OK;
}

/* The --model net on d's images, built for training (inference 0: batches
 * of --batch) or for inference on one image (to check that it fits). */
static nn_status model_net(const cli_options *o, const nn_dataset *d,
                           int inference, nn_net **out, char *msg,
                           size_t msg_size)
{
    nn_net *net = NULL;
    nn_status st = nn_net_create(d->c, d->h, d->w, &net);
    if (st == NN_OK)
        st = nn_net_add_spec(net, o->model, msg, msg_size);
    if (st == NN_OK)
        st = inference ? nn_net_build_inference(net, 1, o->train.seed)
                       : nn_net_build(net, o->train.batch, o->train.seed);
    if (st != NN_OK) {
        if (!msg[0] && nn_net_why(net)[0])
            snprintf(msg, msg_size, "model '%.200s' does not fit %dx%dx%d "
                     "inputs: %s", o->model, d->c, d->h, d->w, nn_net_why(net));
        if (!msg[0])
            snprintf(msg, msg_size, "model '%s' does not fit %dx%dx%d inputs: %s",
                     o->model, d->c, d->h, d->w, nn_status_str(st));
        nn_net_destroy(net);
        return st;
    }
    *out = net;
    return NN_OK;
}

static nn_status build_net(const cli_options *o, const nn_dataset *d,
                           nn_net **out, char *msg, size_t msg_size)
{
    if (o->init_path)
        return init_net(o, d, out, msg, msg_size);
    return model_net(o, d, 0, out, msg, msg_size);
}

/* 1 when net gives one output per class; else 0 after printing why. */
static int outputs_fit(const cli_options *o, nn_net *net, int classes)
{
    if (outputs_per_image(net) == classes)
        return 1;
    fprintf(stderr, "error: --model %s gives %d outputs per image, the data "
                    "has %d classes (end the model with dense%d)\n", o->model,
            outputs_per_image(net), classes, classes);
    return 0;
}

int cli_check_run(const cli_options *o, const nn_dataset *train)
{
    char msg[512] = "";
    nn_net *probe = NULL;
    int fits;
    if (o->init_path || o->resume_path)
        return CLI_OK; /* the file says what the model is */
    if (!memory_fits(o, train, msg, sizeof msg) ||
        model_net(o, train, 1, &probe, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "error: %s\n", msg);
        return CLI_USAGE;
    }
    fits = outputs_fit(o, probe, train->classes);
    nn_net_destroy(probe);
    return fits ? CLI_OK : CLI_USAGE;
}

/* The records a resumed run's report starts from: its earlier epochs
 * from extra when it has them all; returns the first epoch known. */
static int restore_epochs(const cli_run_extra *extra, int done,
                          report_epoch *epochs)
{
    if (!extra || !extra->known || extra->known_first > done ||
        extra->known_first + extra->known_count < done)
        return done;
    for (int e = extra->known_first; e < done; e++)
        epochs[e] = extra->known[e - extra->known_first];
    return extra->known_first;
}

/* What Ctrl-C says: how to go on, and after which epoch. */
static struct {
    const char *checkpoint;         /* NULL: no --checkpoint */
    volatile sig_atomic_t saved;    /* epochs the checkpoint holds */
} interrupt_state;

/* Appends text to buf (size at least 1024) with what async-signal-safe
 * code can use. */
static size_t add_text(char *buf, size_t used, const char *text)
{
    while (*text && used + 1 < 1024)
        buf[used++] = *text++;
    return used;
}

/* SIGINT: says whether the run can go on, then ends the program as the
 * signal would (exit status 130). Only async-signal-safe calls. */
static void on_interrupt(int sig)
{
    char buf[1024], number[16];
    size_t used = 0;
    int n = (int)interrupt_state.saved, k = sizeof number - 1;
    (void)sig;
    number[k] = '\0';
    do
        number[--k] = (char)('0' + n % 10);
    while ((n /= 10) > 0 && k > 0);
    used = add_text(buf, used, "\ninterrupted: ");
    if (!interrupt_state.checkpoint) {
        used = add_text(buf, used, "the progress is lost (give --checkpoint FILE "
                        "to be able to continue a run after an interruption)\n");
    } else if (interrupt_state.saved == 0) {
        used = add_text(buf, used, "no epoch finished, nothing saved in ");
        used = add_text(buf, used, interrupt_state.checkpoint);
        used = add_text(buf, used, " yet: the same command starts the run again\n");
    } else {
        used = add_text(buf, used, interrupt_state.checkpoint);
        used = add_text(buf, used, " holds the run after epoch ");
        used = add_text(buf, used, number + k);
        used = add_text(buf, used, ": run the same command again to continue "
                        "from there (it resumes from ");
        used = add_text(buf, used, interrupt_state.checkpoint);
        used = add_text(buf, used, ")\n");
    }
    if (write(STDERR_FILENO, buf, used) < 0)
        _exit(130);
    _exit(130);
}

/* Ctrl-C from now on says how to continue (see on_interrupt). */
static void catch_interrupt(const cli_options *o, int saved)
{
    struct sigaction sa;
    interrupt_state.checkpoint = o->checkpoint_path;
    interrupt_state.saved = saved;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* What is written after an epoch: the report first (its metrics.json says
 * whether the run finished), then the checkpoint, so that a checkpoint
 * never runs ahead of the report a resumed sweep takes the earlier epochs
 * from; then the sweep's callback. 0 when the checkpoint failed. */
static int epoch_outputs(const cli_options *o, const report_run *run,
                         nn_optim *opt, const nn_train_state *ts,
                         const cli_run_extra *extra, int *report_ok)
{
    char msg[512];
    if (o->report_dir && *report_ok &&
        !(*report_ok = report_write(o->report_dir, run, msg, sizeof msg)))
        fprintf(stderr, "error: --report: %s (no more report updates)\n", msg);
    if (o->checkpoint_path &&
        nn_checkpoint_save(run->net, opt, ts, o->checkpoint_path, msg,
                           sizeof msg) != NN_OK) {
        fprintf(stderr, "error: --checkpoint: %s\n", msg);
        return 0;
    }
    if (o->checkpoint_path)
        interrupt_state.saved = ts->epoch;
    if (extra && extra->after_epoch)
        extra->after_epoch(extra->user);
    return 1;
}

/* One training run from set-up to clean-up: what cli_run_one's steps
 * share. The report's view (run) points into the rest. */
typedef struct {
    const cli_options *o;
    nn_dataset *train, *test;
    const char *const *class_names; /* (test->classes) */
    const cli_run_extra *extra;     /* NULL: not a sweep's run */
    nn_net *net;
    nn_optim *opt;
    nn_train_config cfg;            /* o->train with the progress display */
    nn_train_state ts;              /* epochs done, generator, batch */
    progress_state ps;
    report_epoch *epochs;           /* (cfg.epochs) */
    int *predicted;                 /* (test->count) */
    long *confusion;                /* (classes, classes) */
    float precision[256], recall[256], f1[256]; /* (classes) */
    diag_run diag;
    int diagnose;                   /* diag is set up */
    cli_settings_text settings;
    report_run run;
    int report_ok;                  /* --report is still written */
} run_state;

/* The net and optimizer from --resume's checkpoint (or --checkpoint's,
 * when it exists), which must continue this run: the same model, batch,
 * optimizer and schedule settings, with epochs left to train. What does
 * not match is a usage error (2), a file that cannot be read 1. */
static int resume_net(run_state *s)
{
    const cli_options *o = s->o;
    const char *flag = o->resume_auto ? "--checkpoint" : "--resume";
    char msg[512] = "";
    nn_status st;
    s->cfg.optim.lr = s->cfg.schedule.lr;
    st = nn_checkpoint_load(o->resume_path, s->cfg.batch, &s->cfg.optim,
                            &s->net, &s->opt, &s->ts, msg, sizeof msg);
    if (st == NN_OK && s->ts.has_schedule &&
        !cli_same_schedule(o, &s->ts.schedule, msg, sizeof msg))
        st = NN_ESTATE; /* older checkpoints did not record it */
    if (st == NN_OK && (o->model_given || !o->init_path) &&
        !same_model(o, s->net, msg, sizeof msg))
        st = NN_ESTATE;
    if (st != NN_OK) {
        fprintf(stderr, "error: %s: %s%s\n", flag, msg,
                o->resume_auto && st != NN_ESTATE
                ? " (the file exists but cannot be continued: remove it or "
                  "choose another --checkpoint to start a new run)" : "");
        return st == NN_ESTATE ? CLI_USAGE : CLI_FAIL;
    }
    /* Other batches would cut the epochs' shuffled order into other
     * steps: not the run the checkpoint continues (0: not recorded). */
    if (s->ts.batch != 0 && s->ts.batch != s->cfg.batch) {
        fprintf(stderr, "error: %s: the checkpoint was trained with "
                        "batch %d, --batch asks for %d\n", flag, s->ts.batch,
                s->cfg.batch);
        return CLI_USAGE;
    }
    s->ts.batch = s->cfg.batch;
    /* The generator's state comes from the checkpoint, and the weights
     * with it: the seed no longer plays a part. */
    if (o->seed_given)
        fprintf(stderr, "note: --resume continues the checkpoint's random "
                        "generator; --seed is not used\n");
    if (s->ts.epoch >= s->cfg.epochs) {
        fprintf(stderr, "error: %s: %s has done %d epoch%s already (--epochs "
                        "%d)%s\n", flag, o->resume_path, s->ts.epoch,
                cli_plural(s->ts.epoch), s->cfg.epochs, o->resume_auto
                ? ": the run is finished; remove the file to train it again"
                : "");
        return CLI_USAGE;
    }
    if (!o->quiet && o->resume_auto)
        printf("resuming %s after epoch %d (it exists: the same command "
               "continues its run)\n", o->resume_path, s->ts.epoch);
    else if (!o->quiet)
        printf("resuming %s after epoch %d\n", o->resume_path, s->ts.epoch);
    return CLI_OK;
}

/* A new net (--model, or --init's weights) and its optimizer. */
static int new_net(run_state *s)
{
    char msg[512] = "";
    nn_status st = build_net(s->o, s->train, &s->net, msg, sizeof msg);
    if (st != NN_OK) {
        fprintf(stderr, "error: %s\n", msg);
        return s->o->init_path && st != NN_ESHAPE ? CLI_FAIL : CLI_USAGE;
    }
    if ((st = nn_optim_create(s->net, &s->cfg.optim, &s->opt)) != NN_OK) {
        fprintf(stderr, "error: optimizer settings: %s\n", nn_status_str(st));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Checks the data and the model, then makes the net (new or resumed) and
 * sets its normalization, kernels, threads and shards. */
static int setup_net(run_state *s)
{
    const cli_options *o = s->o;
    char msg[512] = "";
    int classes = s->test->classes, rc;
    nn_status st;
    if (classes > 256 || s->train->classes != classes) {
        fprintf(stderr, "error: training and test sets disagree on classes\n");
        return CLI_FAIL;
    }
    if (o->limit > 0 && o->limit < s->train->count)
        s->train->count = (int)o->limit;
    nn_rng_seed(&s->ts.rng, s->cfg.seed ^ 0x7261696e696e67ULL);
    s->ts.epoch = 0;
    s->ts.batch = s->cfg.batch;
    if (cli_check_run(o, s->train) != CLI_OK)
        return CLI_USAGE;
    if (o->resume_path && !memory_fits(o, s->train, msg, sizeof msg)) {
        fprintf(stderr, "error: %s\n", msg);
        return CLI_USAGE;
    }
    rc = o->resume_path ? resume_net(s) : new_net(s);
    if (rc != CLI_OK)
        return rc;
    s->ts.schedule = s->cfg.schedule; /* what the checkpoints record */
    if (!outputs_fit(o, s->net, classes))
        return CLI_USAGE;
    nn_net_set_normalization(s->net, s->train->mean, s->train->std);
    nn_net_set_kernels(s->net, o->kernels); /* a value the parser checked */
    if ((st = nn_net_set_threads(s->net, o->threads)) != NN_OK) {
        fprintf(stderr, "error: --threads %d: %s\n", o->threads, nn_status_str(st));
        return CLI_FAIL;
    }
    if ((st = nn_net_set_shards(s->net, o->shards)) != NN_OK) {
        fprintf(stderr, "error: --shards %d: %s\n", o->shards, nn_status_str(st));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* The model, the data and the run's size, before the first epoch. */
static void print_start(const run_state *s)
{
    char spec[4096];
    int threads = nn_net_threads(s->net);
    if (nn_net_spec(s->net, spec, sizeof spec) == NN_OK)
        printf("model: %s\n", spec);
    printf("training on %d image%s, testing on %d, batch %d, %d epoch%s, %d "
           "thread%s\n", s->train->count, cli_plural(s->train->count),
           s->test->count, s->cfg.batch, s->cfg.epochs, cli_plural(s->cfg.epochs),
           threads, cli_plural(threads));
    if (!s->extra)
        cli_print_layers(stdout, s->net);
    fflush(stdout);
}

/* The records of the epochs, the diagnostics, the report directory and
 * the report's view of the run. */
static int setup_records(run_state *s)
{
    const cli_options *o = s->o;
    char msg[512];
    int classes = s->test->classes;
    s->cfg.on_batch = on_batch;
    s->cfg.user = &s->ps;
    s->epochs = calloc((size_t)s->cfg.epochs, sizeof *s->epochs);
    s->predicted = malloc(sizeof *s->predicted * (size_t)s->test->count);
    s->confusion = malloc(sizeof *s->confusion * (size_t)classes * classes);
    if (!s->epochs || !s->predicted || !s->confusion ||
        (!o->no_diagnostics &&
         !(s->diagnose = diag_init(&s->diag, s->net, s->train, s->cfg.epochs)))) {
        fprintf(stderr, "error: out of memory\n");
        return CLI_FAIL;
    }
    if (!o->quiet)
        print_start(s);
    if (o->report_dir && !report_prepare(o->report_dir, msg, sizeof msg)) {
        fprintf(stderr, "error: --report: %s\n", msg);
        return CLI_FAIL;
    }
    cli_describe_settings(o, &s->settings);
    s->run = (report_run){
        .config = &s->cfg, .settings = &s->settings.settings, .net = s->net,
        .train = s->train, .test = s->test, .class_names = s->class_names,
        .epochs = s->epochs,
        .first_epoch = restore_epochs(s->extra, s->ts.epoch, s->epochs),
        .predicted = s->predicted, .confusion = s->confusion,
        .precision = s->precision, .recall = s->recall, .f1 = s->f1,
        .compare_href = s->extra ? s->extra->compare_href : NULL,
        .diagnostics = s->diagnose ? &s->diag : NULL};
    return CLI_OK;
}

/* Epoch e: training with the diagnostics' measures, the evaluation on the
 * test set, the epoch's line, warnings and class metrics. */
static int run_epoch(run_state *s, int e)
{
    const cli_options *o = s->o;
    report_epoch *rec = &s->epochs[e];
    int classes = s->test->classes;
    nn_status st;
    if (s->diagnose)
        diag_epoch_start(&s->diag, s->net);
    st = nn_train_epoch(s->net, s->opt, s->train, &s->cfg, e, &s->ts.rng, &rec->train);
    if (st == NN_OK && s->diagnose)
        st = diag_epoch_end(&s->diag, s->net, s->train, e);
    if (st == NN_OK)
        st = nn_evaluate(s->net, s->test, s->predicted, &rec->test_loss,
                         &rec->test_accuracy);
    if (s->ps.tty && !o->quiet)
        fprintf(stderr, "\r%100s\r", "");
    if (st != NN_OK) {
        fprintf(stderr, "error: epoch %d: %s%s%s%s\n", e + 1,
                nn_status_str(st), rec->train.message[0] ? ": " : "",
                rec->train.message,
                st == NN_ENUMERIC ? " (try a smaller --lr)" : "");
        return CLI_FAIL;
    }
    if (!o->quiet) {
        char lr[64], last[32];
        snprintf(lr, sizeof lr, "%.4g",
                 (double)nn_schedule_lr(&s->cfg.schedule, e));
        snprintf(last, sizeof last, "%.4g", (double)rec->train.lr);
        if (strcmp(lr, last)) /* from the epoch's first step to its last */
            snprintf(lr + strlen(lr), sizeof lr - strlen(lr), "\xe2\x86\x92%s",
                     last);
        printf("epoch %2d/%d  lr %s  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  %.1f s  %.0f img/s\n",
               e + 1, s->cfg.epochs, lr, rec->train.train_loss,
               100 * rec->train.train_accuracy, rec->test_loss,
               100 * rec->test_accuracy, rec->train.seconds,
               rec->train.images_per_second);
        fflush(stdout);
    }
    if (s->diagnose)
        diag_check(&s->diag, s->net, s->epochs, s->run.first_epoch, e, classes, stderr);
    nn_confusion(s->predicted, s->test->labels, s->test->count, classes, s->confusion);
    nn_class_metrics(s->confusion, classes, s->precision, s->recall, s->f1);
    s->run.epochs_done = e + 1;
    s->ts.epoch = e + 1;
    return CLI_OK;
}

/* The epochs left, each followed by its outputs but the last, whose
 * outputs wait for --save (see finish_run). */
static int train_epochs(run_state *s)
{
    catch_interrupt(s->o, s->o->resume_path &&
                    s->o->checkpoint_path &&
                    !strcmp(s->o->resume_path, s->o->checkpoint_path)
                    ? s->ts.epoch : 0);
    for (int e = s->ts.epoch; e < s->cfg.epochs; e++) {
        if (run_epoch(s, e) != CLI_OK)
            return CLI_FAIL;
        if (e + 1 < s->cfg.epochs &&
            !epoch_outputs(s->o, &s->run, s->opt, &s->ts, s->extra, &s->report_ok))
            return CLI_FAIL;
    }
    return CLI_OK;
}

/* After the last epoch: the tables and the test accuracy, then --save,
 * --json, the report and the checkpoint. */
static int finish_run(run_state *s)
{
    const cli_options *o = s->o;
    char msg[512];
    int classes = s->test->classes, rc = CLI_OK;
    if (!o->quiet && !s->extra) {
        print_confusion(stdout, s->confusion, classes, s->class_names);
        print_class_metrics(stdout, s->precision, s->recall, s->f1, classes,
                            s->class_names);
    }
    printf("test accuracy: %.2f%%\n", 100 * s->epochs[s->cfg.epochs - 1].test_accuracy);
    if (o->save_path) {
        if (nn_model_save(s->net, o->save_path, msg, sizeof msg) != NN_OK) {
            fprintf(stderr, "error: --save: %s\n", msg);
            rc = CLI_FAIL;
        } else if (!o->quiet)
            printf("model saved to %s\n", o->save_path);
    }
    /* finished: every epoch trained and the model saved, so that a sweep
     * that finds a finished metrics.json finds the model too */
    s->run.finished = rc == CLI_OK;
    if (o->json_path && !save_json(o->json_path, &s->run, msg, sizeof msg)) {
        fprintf(stderr, "error: --json: %s\n", msg);
        rc = CLI_FAIL;
    }
    s->run.finished = rc == CLI_OK;
    if (!epoch_outputs(o, &s->run, s->opt, &s->ts, s->extra, &s->report_ok) ||
        !s->report_ok)
        rc = CLI_FAIL;
    if (o->report_dir && s->report_ok && !o->quiet)
        printf("report written to %s/index.html\n", o->report_dir);
    return rc;
}

int cli_run_one(const cli_options *o, nn_dataset *train, nn_dataset *test,
                const char *const *class_names, const cli_run_extra *extra)
{
    run_state s = {.o = o, .train = train, .test = test,
                   .class_names = class_names, .extra = extra, .cfg = o->train,
                   .ps = {isatty(fileno(stderr)), o->quiet}, .report_ok = 1};
    static int (*const steps[])(run_state *) = {setup_net, setup_records,
                                                train_epochs, finish_run};
    int rc = CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < sizeof steps / sizeof *steps; i++)
        rc = steps[i](&s);
    diag_free(&s.diag);
    free(s.epochs);
    free(s.predicted);
    free(s.confusion);
    nn_optim_destroy(s.opt);
    nn_net_destroy(s.net);
    return rc;
}
