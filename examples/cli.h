/* What the command-line trainers share: options, the training run with its
 * progress display, and the final report. Not part of libnn. */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <stdio.h>

#include "nn.h"

/* Exit codes: 0 success, 1 a run-time failure (data, files), 2 bad usage. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

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
    int threads;           /* --threads (default 0: every online CPU) */
    nn_kernels kernels;    /* --kernels (default NN_KERNELS_AUTO) */
    long limit;            /* --limit: first N training images (0: all) */
    int quiet;
    int lr_given, momentum_given, weight_decay_given; /* flags seen */
    int gamma_given, seed_given;
    nn_train_config train;
} cli_options;

/* Defaults for a program whose preset model is default_model. */
void cli_defaults(cli_options *o, const char *default_model);
/* Parses argv into o, every value checked against the option table, then
 * the combinations and the outputs (each --save, --json, --checkpoint and
 * --report can be written: its directory exists, and what is there already
 * is of the right kind). Returns CLI_OK, CLI_USAGE for a bad value or
 * combination, CLI_FAIL for an output that cannot be written (message
 * printed), or -1 after printing --help. */
int cli_parse(int argc, char **argv, cli_options *o, const char *program,
              const char *data_help);
/* Most threads libnn runs a net on (nn_net_set_threads refuses more). */
#define CLI_MAX_THREADS 64

/* Strict number parsing: the whole string, within [min, max]. On failure
 * why says what is wrong ("negative", "garbage after the number", ...) and
 * what is accepted ("expected a whole number from 1 to 64"). */
int cli_parse_long(const char *s, long min, long max, long *out, char *why,
                   size_t why_size);
int cli_parse_double(const char *s, double min, double max, double *out,
                     char *why, size_t why_size);
/* Opens path for reading when it is a regular file, without blocking on a
 * FIFO; NULL otherwise, with msg naming the file and what it is. */
FILE *cli_open_regular(const char *path, char *msg, size_t msg_size);

/* A loader of the training (train = 1) or test split from a directory. */
typedef nn_status (*cli_load_fn)(const char *dir, int train, nn_dataset *out,
                                 char *msg, size_t msg_size);
/* Loads both splits from dir. On failure prints the loader's message, and
 * hint when dir was not given with --data, frees what was loaded and
 * returns CLI_FAIL. */
int cli_load(const char *program, const cli_options *o, const char *dir,
             cli_load_fn load, const char *hint, nn_dataset *train,
             nn_dataset *test);

/* Plans the run's memory (refused beyond the machine's), builds the model
 * or resumes it (refused when the checkpoint's model, optimizer or batch
 * differ), trains with progress output, evaluates every epoch, then prints
 * the confusion matrix, per-class metrics and the layer table and writes
 * --json / --save atomically. class_names has train->classes entries. */
int cli_run(const cli_options *o, nn_dataset *train, nn_dataset *test,
            const char *const *class_names);

/* 1 when path ends with suffix (".onnx"). */
int cli_has_suffix(const char *path, const char *suffix);
/* Loads a model by its file name: .onnx through nn_onnx_load, anything
 * else as a libnn model file; built for inference only when inference is 1. */
nn_status cli_load_model(const char *path, int max_batch, int inference,
                         nn_net **out, char *msg, size_t msg_size);

/* Prints the layer table: output shapes and parameter counts. */
void cli_print_layers(FILE *f, nn_net *net);

#endif
