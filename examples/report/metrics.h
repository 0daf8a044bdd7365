/* A run's metrics.json read back (metrics_json.c): the strict reader that
 * comparisons (compare.h) and the trainers' --sweep rely on. Only libc, so
 * that the fuzz target builds it on its own. Not part of libnn. */
#ifndef NN_METRICS_H
#define NN_METRICS_H

#include <stddef.h>

#include "report_records.h"

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
/* Frees what metrics_parse allocated; m is left empty. */
void metrics_free(run_metrics *m);

#endif
