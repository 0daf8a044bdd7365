/* What a training run leaves behind besides its console output: metrics as
 * JSON (--json, and metrics.json in the report) and a self-contained HTML
 * report with pictures (--report DIR), rewritten after every epoch so that a
 * long run can be watched in a browser. Not part of libnn. */
#ifndef NN_REPORT_H
#define NN_REPORT_H

#include <stdio.h>

#include "diagnostics.h"
#include "nn.h"
#include "report_records.h"

/* A run as far as it has got: settings, the net, and the evaluation of the
 * last finished epoch. Nothing here is owned. */
typedef struct {
    const nn_train_config *config;  /* epochs, batch, seed, optimizer, ... */
    const report_settings *settings; /* NULL: none recorded */
    nn_net *net;
    const nn_dataset *train, *test; /* test pixels feed the misclassified grid */
    const char *const *class_names; /* test->classes names */
    const report_epoch *epochs;     /* (epochs_done) */
    int epochs_done;                /* >= 1 */
    int first_epoch;                /* records before it are unknown (resumed run) */
    const int *predicted;           /* (test->count) classes, last epoch */
    const long *confusion;          /* (classes, classes): rows true class */
    const float *precision, *recall, *f1; /* (classes) */
    int finished;                   /* every epoch trained, outputs saved */
    const char *compare_href;       /* NULL, or the sweep's comparison page */
    const diag_run *diagnostics;    /* NULL: none */
} report_run;

/* Seconds of training in the run's known epochs, and the images per
 * second over them. */
double report_run_seconds(const report_run *run);
double report_run_images_per_second(const report_run *run);

/* Writes the run's metrics as JSON to f (the one writer of --json and of
 * the report's metrics.json); 1 on success. */
int report_write_json(FILE *f, const report_run *run);
/* The optimizer and its settings in words ("SGD, momentum 0.9, ..."). */
void report_describe_optimizer(const nn_optim_settings *s, char *buf,
                               size_t size);
/* Writes path with what write(f, ctx) prints, atomically: the text is
 * built in memory, then nn_write_file_atomic puts it in place (temporary
 * file, fsync, rename). 1 on success; else msg names the file and the
 * problem and an existing path is left exactly as it was. */
int report_write_file(const char *path,
                      int (*write)(FILE *f, const void *ctx), const void *ctx,
                      char *msg, size_t msg_size);
/* Creates the report directory when it does not exist yet; 1 on success,
 * else msg says why. */
int report_prepare(const char *dir, char *msg, size_t msg_size);
/* (Re)writes every file of the report in dir, each one atomically:
 * index.html (refreshing itself until the last epoch), curves.svg,
 * confusion.svg, filters.png, misclassified.png and metrics.json; 1 on
 * success, else msg names the file that could not be written and why. */
int report_write(const char *dir, const report_run *run, char *msg,
                 size_t msg_size);

#endif
