/* Several runs side by side: a run's metrics.json read back
 * (metrics_json.c, metrics_read in report_compare.c) and the comparison
 * page made from them (report_compare.c), for the trainers' --sweep and for
 * nn_compare. Not part of libnn. */
#ifndef NN_COMPARE_H
#define NN_COMPARE_H

#include <stddef.h>

#include "report.h"

/* Largest metrics.json read (10,000 epochs and 256 classes need ~3 MiB). */
#define METRICS_MAX_BYTES (8 << 20)

/* One epoch of a run read back. */
typedef struct {
    int epoch; /* 1-based */
    double lr, train_loss, train_accuracy, test_loss, test_accuracy;
    double seconds, images_per_second;
} metrics_epoch;

/* What a metrics.json says about its run. Strings point into storage. */
typedef struct {
    const char *model;         /* the architecture as a spec */
    double parameters;         /* trainable parameters */
    int batch, classes, planned_epochs, finished;
    double seconds, images_per_second; /* over the epochs recorded */
    double test_accuracy, test_loss;   /* after the last epoch recorded */
    report_settings settings;  /* as the command line gave them */
    int first_epoch;           /* epochs[i] is epoch first_epoch + i + 1 */
    int epoch_count;           /* >= 1 */
    metrics_epoch *epochs;     /* (epoch_count) */
    char *storage;             /* owns the strings */
} run_metrics;

/* Reads the metrics.json text (size bytes; name for messages): strict
 * JSON (RFC 8259: UTF-8, no trailing commas, no NaN, no duplicate keys,
 * nothing after the value) holding every key report_write_json writes,
 * each of its type and in its range (accuracies from 0 to 1, epochs
 * numbered one after the other, a square confusion matrix, ...); keys it
 * does not know are skipped. 1 on success (free with metrics_free); else
 * 0 with msg naming the file, where and what is wrong, and out empty. */
int metrics_parse(const char *text, size_t size, const char *name,
                  run_metrics *out, char *msg, size_t msg_size);
/* Reads the file at path (a regular file of at most METRICS_MAX_BYTES)
 * with metrics_parse. */
int metrics_read(const char *path, run_metrics *out, char *msg,
                 size_t msg_size);
/* Frees what metrics_parse allocated; m is left empty. */
void metrics_free(run_metrics *m);

/* One run on the comparison page. */
typedef struct {
    const char *name;          /* its directory's name: the fallback label */
    const char *href;          /* its report directory, relative to the page */
    const run_metrics *metrics; /* NULL: not started yet */
    const char *status;        /* NULL: from metrics; else "running", ... */
} compare_entry;

/* The page around the runs. */
typedef struct {
    const char *title;         /* "sweep", "comparison" */
    int in_progress;           /* the page reloads itself */
    const char *note;          /* a line under the title, or NULL */
    const char *const *first_keys; /* settings that differ, named first
                                      (a sweep's options), or NULL */
    int first_key_count;
    int show_names;            /* a column of the runs' names even when
                                  their settings tell them apart */
} compare_page;

/* 1 when run a did better than run b: a higher final test accuracy, or
 * the same and a lower test loss. */
int metrics_better(const run_metrics *a, const run_metrics *b);
/* Seconds as "12.3 s" under a minute, else "4:05" or "1:02:03". */
void compare_format_seconds(char *buf, size_t size, double seconds);

/* Writes the comparison of runs (in their order: it gives their colours)
 * into dir: curves.svg (test and training loss and accuracy per epoch,
 * every run on the same axes, a legend by the settings that differ) and
 * index.html (the runs sorted by final test accuracy with time, images/s
 * and links to their reports; the best finished run marked), each
 * atomically. 1 on success, else msg says which file and why. */
int report_compare_write(const char *dir, const compare_entry *runs, int n,
                         const compare_page *page, char *msg, size_t msg_size);

#endif
