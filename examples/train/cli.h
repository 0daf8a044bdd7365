/* What the command-line trainers share: options, the training run with its
 * progress display, and the final report. Not part of libnn. */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <stdio.h>

#include "cli_args.h"
#include "compare.h"
#include "nn.h"
#include "report.h"

#define CLI_MAX_SWEEP 16     /* options one sweep varies at most */
#define CLI_MAX_RUNS COMPARE_MAX_RUNS /* runs one sweep makes at most */
#define CLI_VALUE_SIZE 4096  /* longest value in a --sweep list */

/* One option a sweep varies (--sweep lr=0.01,0.1). */
typedef struct {
    int option;       /* its row in the option table */
    const char *list; /* the values as given, after the '=' */
    char separator;   /* ',' or, when the list holds one, ';' (specs
                         contain commas) */
    int count;        /* values in the list */
} cli_sweep_axis;

/* Options common to mnist_train and cifar10_train. */
typedef struct {
    const char *data_dir;  /* NULL: the program's default */
    const char *model;     /* preset name or spec */
    const char *save_path; /* --save */
    const char *json_path; /* --json */
    const char *report_dir; /* --report */
    const char *checkpoint_path; /* --checkpoint: saved after every epoch */
    const char *resume_path;     /* --resume: continue from a checkpoint */
    const char *init_path;       /* --init: start from a model's weights */
    int model_given;             /* --model was on the command line */
    int resume_auto;             /* resume_path is --checkpoint's file, which
                                    existed: the same command continues */
    int threads;           /* --threads (default 0: every online CPU) */
    int shards;            /* --shards (default NN_SHARDS_DEFAULT) */
    int outputs_elsewhere; /* another process writes --save, --json, ...:
                              cli_parse does not check them here */
    nn_kernels kernels;    /* --kernels (default NN_KERNELS_AUTO) */
    long limit;            /* --limit: first N training images (0: all) */
    int quiet;
    int no_diagnostics;          /* --no-diagnostics */
    int lr_given, momentum_given, weight_decay_given; /* flags seen */
    int gamma_given, seed_given;
    nn_train_config train;
    const char *save_best_path;  /* --save-best: the sweep's best model */
    int sweep_count;             /* options the sweep varies (0: no sweep) */
    cli_sweep_axis sweep[CLI_MAX_SWEEP];
    long sweep_runs;             /* the product of their counts */
    char model_text[CLI_VALUE_SIZE]; /* a sweep run's --model value */
} cli_options;

/* A run's settings in words, with the text they point into (fill it with
 * cli_describe_settings where it stays; a copy would point into the
 * original). */
typedef struct {
    report_settings settings;
    char text[REPORT_MAX_SETTINGS][48];
} cli_settings_text;


/* Defaults for a program whose preset model is default_model. */
void cli_defaults(cli_options *o, const char *default_model);
/* Parses argv into o, every value checked against the option table, then
 * the combinations and the outputs (each --save, --json, --checkpoint and
 * --report can be written: its directory exists, and what is there already
 * is of the right kind). Each --sweep value is checked as its flag's value
 * is, and every run of the sweep as a command line of its own. Returns
 * CLI_OK, CLI_USAGE for a bad value or combination, CLI_FAIL for an output
 * that cannot be written (message printed), or -1 after printing --help. */
int cli_parse(int argc, char **argv, cli_options *o, const char *program,
              const char *data_help);
/* The options of run `run` (from 0; the first --sweep option varies
 * slowest) of base's sweep, with the optimizer's defaults, into out (which
 * has no sweep), and the run's name into name: "lr=0.05,batch=32", safe as
 * a directory name (a value with other characters than letters, digits and
 * ._+- is shortened and given a hash: model=conv3x3x8p1_relu~1a2b3c4d). */
void cli_sweep_options(const cli_options *base, long run, cli_options *out,
                       char *name, size_t name_size);
/* The name of the option a sweep varies on axis `axis` ("lr"). */
const char *cli_sweep_option_name(const cli_options *o, int axis);
/* The settings a run records (model, optimizer, lr, ...): the options a
 * sweep may vary, and --nesterov, as text. */
void cli_describe_settings(const cli_options *o, cli_settings_text *out);
/* 1 when a run resumed with o trains with the schedule its checkpoint
 * recorded (then): the same --lr, --schedule, --gamma, --warmup and, for
 * the cosine schedule, --epochs; else 0 with msg naming the first that
 * differs and both values as the options write them. */
int cli_same_schedule(const cli_options *o, const nn_schedule *then,
                      char *msg, size_t msg_size);
/* A loader of the training (train = 1) or test split from a directory. */
typedef nn_status (*cli_load_fn)(const char *dir, int train, nn_dataset *out,
                                 char *msg, size_t msg_size);
/* A data set's files as a trainer looks for them. */
typedef struct {
    cli_load_fn load;
    const char *marker; /* a part of every data file's name ("-idx") */
    const char *files;  /* the files, for messages */
    const char *hint;   /* how to get them */
} cli_data_kind;
/* Loads both splits from dir. On failure prints what is wrong (no such
 * directory, a file given as the directory, a directory without data
 * files, else the loader's message) and the kind's hint, frees what was
 * loaded and returns CLI_FAIL. */
int cli_load(const char *program, const char *dir, const cli_data_kind *kind,
             nn_dataset *train, nn_dataset *test);

/* Plans the run's memory (refused beyond the machine's), builds the model
 * or resumes it (refused when the checkpoint's model, optimizer or batch
 * differ), trains with progress output, evaluates every epoch, then prints
 * the confusion matrix, per-class metrics and the layer table and writes
 * --json / --save atomically. class_names has train->classes entries.
 * With --sweep, runs the sweep instead (cli_sweep). */
int cli_run(const cli_options *o, nn_dataset *train, nn_dataset *test,
            const char *const *class_names);

/* What a sweep adds to one of its runs. */
typedef struct {
    const report_epoch *known;  /* records of epochs known_first + 1 ... */
    int known_first, known_count; /* ... from the run's metrics.json */
    const char *compare_href;   /* the comparison, from the run's report */
    void (*after_epoch)(void *user); /* after each epoch's report and
                                        checkpoint are written */
    void *user;
} cli_run_extra;

/* cli_run for one run of a sweep: the records of a resumed run's earlier
 * epochs are taken from extra, the layer table, confusion matrix and
 * per-class metrics are left to the report, and extra->after_epoch is
 * called after every epoch. */
int cli_run_one(const cli_options *o, nn_dataset *train, nn_dataset *test,
                const char *const *class_names, const cli_run_extra *extra);
/* Checks before a run starts that its model fits the data (input shape,
 * one output per class) and that training it fits in memory; CLI_OK, else
 * CLI_USAGE after printing why. Runs from --init or --resume pass. */
int cli_check_run(const cli_options *o, const nn_dataset *train);
/* Runs o's sweep one run after the other (cli_sweep.c): each in its own
 * directory under --report with its report, metrics.json, model.nnm and a
 * checkpoint every epoch; runs that finished before are skipped, a run
 * that was cut resumes from its checkpoint; --report's index.html compares
 * the runs and is rewritten after every epoch; --save-best copies the best
 * model. CLI_OK when every run finished. */
int cli_sweep(const cli_options *o, nn_dataset *train, nn_dataset *test,
              const char *const *class_names);

#endif
