/* Several runs side by side: a run's metrics.json read from its file
 * (parsed by metrics.h) and the comparison page made from them
 * (report_compare.c), for the trainers' --sweep and for nn_compare. Not
 * part of libnn. */
#ifndef NN_COMPARE_H
#define NN_COMPARE_H

#include <stddef.h>

#include "metrics.h"

/* Most runs one comparison page shows. */
#define COMPARE_MAX_RUNS 1000

/* Reads the file at path (a regular file of at most METRICS_MAX_BYTES)
 * with metrics_parse. */
int metrics_read(const char *path, run_metrics *out, char *msg,
                 size_t msg_size);

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
