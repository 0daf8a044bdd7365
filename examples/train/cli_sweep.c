/* The trainers' --sweep (see cli.h): every combination of the swept values
 * trained one after the other with all threads, each run in a directory of
 * its own under --report (its report, metrics.json, model.nnm and a
 * checkpoint after every epoch), and --report's index.html comparing them,
 * rewritten after every epoch. A sweep started again skips the runs whose
 * metrics.json says finished and resumes a run that was cut from its
 * checkpoint, with the records of its earlier epochs read back. cli_run
 * chooses between a sweep and a single run (cli.c). */
#include "cli.h"
#include "cli_file.h"
#include "nn/advanced.h"
#include "compare.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_SIZE 4096

/* Where a run is. */
typedef enum { RUN_WAITING, RUN_RUNNING, RUN_DONE, RUN_FAILED } run_state;

typedef struct {
    char name[CLI_VALUE_SIZE]; /* its directory under --report */
    char dir[DIR_SIZE];
    run_metrics metrics;       /* its metrics.json as last read */
    int has_metrics;
    run_state state;
} sweep_run;

typedef struct {
    const cli_options *base;
    sweep_run *runs;           /* (n) */
    compare_entry *entries;    /* (n) for the comparison page */
    long n;
    int index_ok;              /* no index.html write has failed */
    char note[512];            /* what the sweep varies */
    const char *keys[CLI_MAX_SWEEP]; /* the options it varies over more
                                        than one value */
    int key_count;
} sweep_state;

/* dir/name into path; 0 (after printing why) when it does not fit. */
static int join(char *path, const char *dir, const char *name)
{
    if (snprintf(path, DIR_SIZE, "%s/%s", dir, name) < DIR_SIZE)
        return 1;
    fprintf(stderr, "error: --report: %s/%s: the path is too long\n", dir, name);
    return 0;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* (Re)reads run r's metrics.json when there is one; 0 with msg when it is
 * there but cannot be read. */
static int read_run(sweep_run *r, char *msg, size_t msg_size)
{
    char path[DIR_SIZE];
    if (r->has_metrics)
        metrics_free(&r->metrics);
    r->has_metrics = 0;
    if (!join(path, r->dir, "metrics.json")) {
        snprintf(msg, msg_size, "%.300s...: path too long", r->dir);
        return 0;
    }
    if (!is_file(path) && access(path, F_OK) != 0)
        return 1; /* not started */
    r->has_metrics = metrics_read(path, &r->metrics, msg, msg_size);
    return r->has_metrics;
}

/* Rewrites --report's index.html from what the runs' metrics.json say. */
static void write_index(sweep_state *s, int in_progress)
{
    static const char *const words[] = {"waiting", "running", NULL, "failed"};
    compare_page page = {"sweep", in_progress, s->note, s->keys,
                         s->key_count, 0};
    char msg[512];
    for (long i = 0; i < s->n; i++) {
        const sweep_run *r = &s->runs[i];
        s->entries[i] = (compare_entry){r->name, r->name,
                                        r->has_metrics ? &r->metrics : NULL,
                                        words[r->state]};
    }
    if (s->index_ok &&
        !(s->index_ok = report_compare_write(s->base->report_dir, s->entries,
                                             (int)s->n, &page, msg, sizeof msg)))
        fprintf(stderr, "error: --report: %s (no more updates of the "
                        "comparison)\n", msg);
}

/* After every epoch of the running run: its new metrics.json into the
 * comparison. */
static void after_epoch(void *user)
{
    sweep_state *s = user;
    char msg[512];
    for (long i = 0; i < s->n; i++)
        if (s->runs[i].state == RUN_RUNNING && !read_run(&s->runs[i], msg, sizeof msg))
            fprintf(stderr, "error: %s\n", msg);
    write_index(s, 1);
}

/* 1 when the settings recorded in m are o's (the runs' directories are
 * named after the swept options only); else 0 after printing the
 * difference. */
static int same_settings(const sweep_run *r, const cli_options *o)
{
    cli_settings_text now;
    const report_settings *was = &r->metrics.settings;
    cli_describe_settings(o, &now);
    for (int i = 0; i < now.settings.count; i++) {
        const char *key = now.settings.key[i], *value = NULL;
        for (int k = 0; k < was->count; k++)
            if (!strcmp(was->key[k], key))
                value = was->value[k];
        if (!value || strcmp(value, now.settings.value[i])) {
            fprintf(stderr, "error: --report: %s was trained with %s %s, this "
                    "sweep asks for %s %s: give the sweep another --report "
                    "directory, or delete the run's directory\n", r->dir, key,
                    value ? value : "(not recorded)", key, now.settings.value[i]);
            return 0;
        }
    }
    return 1;
}

/* Names and directories of the runs, what is there already, and whether
 * each run can start; CLI_OK, else CLI_USAGE (a run cannot start) or
 * CLI_FAIL (what is there already is not this sweep's) after printing why
 * not. */
static int plan(sweep_state *s, const nn_dataset *train, cli_options *run)
{
    char msg[1024];
    size_t used = 0;
    for (int a = 0; a < s->base->sweep_count; a++) {
        const char *key = cli_sweep_option_name(s->base, a);
        if (s->base->sweep[a].count > 1) /* else the same in every run */
            s->keys[s->key_count++] = key;
        if (used < sizeof s->note)
            used += (size_t)snprintf(s->note + used, sizeof s->note - used,
                                     "%s%s (%d value%s)", a ? ", " : "A sweep over ",
                                     key, s->base->sweep[a].count,
                                     s->base->sweep[a].count == 1 ? "" : "s");
    }
    if (used < sizeof s->note)
        snprintf(s->note + used, sizeof s->note - used, ".");
    for (long i = 0; i < s->n; i++) {
        sweep_run *r = &s->runs[i];
        cli_sweep_options(s->base, i, run, r->name, sizeof r->name);
        if (!join(r->dir, s->base->report_dir, r->name))
            return CLI_FAIL;
        for (long j = 0; j < i; j++)
            if (!strcmp(s->runs[j].name, r->name)) {
                fprintf(stderr, "error: --sweep: runs %ld and %ld are both named "
                        "%s\n", j + 1, i + 1, r->name);
                return CLI_USAGE;
            }
        if (cli_check_run(run, train) != CLI_OK) {
            fprintf(stderr, "error: --sweep run %s cannot start: nothing was "
                    "trained\n", r->name);
            return CLI_USAGE;
        }
        if (!read_run(r, msg, sizeof msg)) {
            fprintf(stderr, "error: %s (delete the run's directory to train it "
                    "again)\n", msg);
            return CLI_FAIL;
        }
        if (r->has_metrics && !same_settings(r, run))
            return CLI_FAIL;
        r->state = r->has_metrics && r->metrics.finished ? RUN_DONE : RUN_WAITING;
    }
    return CLI_OK;
}

/* The records of run r's earlier epochs, for a resumed run's report. */
static report_epoch *known_epochs(const sweep_run *r)
{
    report_epoch *known;
    if (!r->has_metrics)
        return NULL;
    known = calloc((size_t)r->metrics.epoch_count, sizeof *known);
    for (int i = 0; known && i < r->metrics.epoch_count; i++) {
        const metrics_epoch *e = &r->metrics.epochs[i];
        known[i].train.epoch = e->epoch - 1;
        known[i].train.lr = (float)e->lr;
        known[i].train.train_loss = e->train_loss;
        known[i].train.train_accuracy = e->train_accuracy;
        known[i].train.seconds = e->seconds;
        known[i].train.images_per_second = e->images_per_second;
        known[i].train.images = (long)(e->images_per_second * e->seconds + 0.5);
        known[i].test_loss = e->test_loss;
        known[i].test_accuracy = e->test_accuracy;
    }
    return known;
}

/* Trains run i: resumed from its checkpoint when there is one. */
static int train_run(sweep_state *s, long i, cli_options *run, nn_dataset *train,
                     nn_dataset *test, const char *const *class_names)
{
    sweep_run *r = &s->runs[i];
    char checkpoint[DIR_SIZE], model[DIR_SIZE], msg[512];
    cli_run_extra extra = {NULL, 0, 0, "../index.html", after_epoch, s};
    report_epoch *known;
    int rc, count = train->count;
    cli_sweep_options(s->base, i, run, r->name, sizeof r->name);
    if (!join(checkpoint, r->dir, "checkpoint.ckpt") ||
        !join(model, r->dir, "model.nnm"))
        return CLI_FAIL;
    run->report_dir = r->dir;
    run->checkpoint_path = checkpoint;
    run->save_path = model;
    if (is_file(checkpoint)) {
        run->resume_path = checkpoint;
        run->seed_given = 0; /* the seed is in its settings, checked */
    }
    known = known_epochs(r);
    if (known) {
        extra.known = known;
        extra.known_first = r->metrics.first_epoch;
        extra.known_count = r->metrics.epoch_count;
    }
    if (!run->quiet)
        printf("== run %ld of %ld: %s%s\n", i + 1, s->n, r->name,
               run->resume_path ? " (resuming)" : "");
    r->state = RUN_RUNNING;
    write_index(s, 1);
    rc = cli_run_one(run, train, test, class_names, &extra);
    train->count = count; /* --limit shortened it */
    free(known);
    r->state = rc == CLI_OK ? RUN_DONE : RUN_FAILED;
    if (!read_run(r, msg, sizeof msg))
        fprintf(stderr, "error: %s\n", msg);
    if (rc == CLI_OK) { /* the run is in model.nnm and its report */
        unlink(checkpoint);
    }
    write_index(s, 1);
    return rc;
}

/* The finished run with the best final test accuracy (the first of
 * equals), or -1. */
static long best_run(const sweep_state *s)
{
    long best = -1;
    for (long i = 0; i < s->n; i++) {
        const sweep_run *r = &s->runs[i];
        if (r->state == RUN_DONE && r->has_metrics && r->metrics.finished &&
            (best < 0 || metrics_better(&r->metrics, &s->runs[best].metrics)))
            best = i;
    }
    return best;
}

/* Copies the best run's model.nnm to --save-best, atomically. */
static int save_best(const sweep_state *s, long best)
{
    char path[DIR_SIZE], msg[DIR_SIZE + 128];
    FILE *f;
    char *data = NULL;
    long size = -1;
    int ok = 0;
    if (best < 0) {
        fprintf(stderr, "error: --save-best: no run finished\n");
        return 0;
    }
    if (!join(path, s->runs[best].dir, "model.nnm"))
        return 0;
    f = cli_open_regular(path, msg, sizeof msg);
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)size + 1)) &&
        fread(data, 1, (size_t)size, f) == (size_t)size)
        ok = nn_write_file_atomic(s->base->save_best_path, data, (size_t)size,
                                  msg, sizeof msg) == NN_OK;
    else if (f)
        snprintf(msg, sizeof msg, "%s: cannot read it", path);
    if (f)
        fclose(f);
    free(data);
    if (!ok)
        fprintf(stderr, "error: --save-best: %s\n", msg);
    else if (!s->base->quiet)
        printf("best model (%s) saved to %s\n", s->runs[best].name,
               s->base->save_best_path);
    return ok;
}

/* The runs by test accuracy, as the comparison's table has them. */
static void print_summary(const sweep_state *s, long best)
{
    long *order = malloc(sizeof *order * (size_t)s->n), shown = 0;
    if (!order)
        return;
    for (long i = 0; i < s->n; i++) { /* insertion sort, started runs first */
        const sweep_run *r = &s->runs[i];
        long k = shown++;
        for (; k > 0; k--) {
            const sweep_run *o = &s->runs[order[k - 1]];
            if (!r->has_metrics || (o->has_metrics &&
                                    !metrics_better(&r->metrics, &o->metrics)))
                break;
            order[k] = order[k - 1];
        }
        order[k] = i;
    }
    printf("%4s %9s %10s  %s\n", "#", "test acc", "time", "run");
    for (long k = 0; k < s->n; k++) {
        const sweep_run *r = &s->runs[order[k]];
        char time[32] = "-";
        if (r->has_metrics)
            compare_format_seconds(time, sizeof time, r->metrics.seconds);
        if (r->has_metrics)
            printf("%4ld %8.2f%% %10s  %s%s%s\n", k + 1,
                   100 * r->metrics.test_accuracy, time, r->name,
                   order[k] == best ? "  (best)" : "",
                   r->state == RUN_FAILED ? "  (failed)" : "");
        else
            printf("%4ld %9s %10s  %s (%s)\n", k + 1, "-", time, r->name,
                   r->state == RUN_FAILED ? "failed" : "not run");
    }
    free(order);
}

int cli_sweep(const cli_options *o, nn_dataset *train, nn_dataset *test,
              const char *const *class_names)
{
    sweep_state s = {.base = o, .n = o->sweep_runs, .index_ok = 1};
    cli_options *run = malloc(sizeof *run);
    char msg[512];
    int rc = CLI_FAIL, failed = 0;
    long best;
    s.runs = calloc((size_t)s.n, sizeof *s.runs);
    s.entries = calloc((size_t)s.n, sizeof *s.entries);
    if (!run || !s.runs || !s.entries) {
        fprintf(stderr, "error: out of memory\n");
        goto done;
    }
    if ((rc = plan(&s, train, run)) != CLI_OK)
        goto done;
    rc = CLI_FAIL;
    if (!report_prepare(o->report_dir, msg, sizeof msg)) {
        fprintf(stderr, "error: --report: %s\n", msg);
        goto done;
    }
    write_index(&s, 1);
    for (long i = 0; i < s.n; i++) {
        if (s.runs[i].state == RUN_DONE) {
            printf("skipping %s (finished)\n", s.runs[i].name);
            continue;
        }
        failed += train_run(&s, i, run, train, test, class_names) != CLI_OK;
        fflush(stdout);
    }
    write_index(&s, 0);
    best = best_run(&s);
    if (!o->quiet) {
        printf("sweep: %ld run%s, %d failed; compared in %s/index.html\n", s.n,
               s.n == 1 ? "" : "s", failed, o->report_dir);
        print_summary(&s, best);
    } else if (best >= 0) {
        printf("best: %s, test accuracy %.2f%%\n", s.runs[best].name,
               100 * s.runs[best].metrics.test_accuracy);
    }
    rc = failed || !s.index_ok ? CLI_FAIL : CLI_OK;
    if (o->save_best_path && !save_best(&s, best))
        rc = CLI_FAIL;
done:
    for (long i = 0; s.runs && i < s.n; i++)
        if (s.runs[i].has_metrics)
            metrics_free(&s.runs[i].metrics);
    free(s.runs);
    free(s.entries);
    free(run);
    return rc;
}

int cli_run(const cli_options *o, nn_dataset *train, nn_dataset *test,
            const char *const *class_names)
{
    if (o->sweep_count)
        return cli_sweep(o, train, test, class_names);
    return cli_run_one(o, train, test, class_names, NULL);
}
