/* What the files of the training report share: report_text.c (paths and
 * escaped text), report.c (index.html, the files, report_write),
 * report_svg.c and report_png.c (the pictures) and report_compare.c
 * (several runs compared). Not part of report.h, the
 * interface the trainers use. */
#ifndef NN_REPORT_INTERNAL_H
#define NN_REPORT_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "report.h"

#define PATH_SIZE 4096
#define MAX_MISCLASSIFIED 40 /* misclassified test images drawn at most */
#define MISCLASSIFIED_COLS 10

/* ---- files and text (report_text.c) */

/* path = dir/name; 0 when it does not fit. */
int report_join_path(char *path, const char *dir, const char *name);
/* Text for HTML and SVG: &, <, >, " and ' escaped; control bytes dropped. */
void report_xml_text(FILE *f, const char *s);

/* ---- pages (report.c) */

/* index.html reloads itself this often while runs go on. */
#define REPORT_REFRESH_SECONDS 10
/* The start of a page up to its <h1>title</h1>: the style sheet of the
 * reports, and a refresh every REPORT_REFRESH_SECONDS when refresh is 1. */
void report_html_head(FILE *f, const char *title, int refresh);

/* ---- SVG pictures (report_svg.c) */

/* curves.svg: loss and accuracy of the training and test sets per epoch,
 * the epoch axis spanning the whole planned run. */
int report_write_curves(FILE *f, const report_run *run);
/* confusion.svg: counts in cells shaded by their share of the true class's
 * images (square-root scale, so that small confusions show). */
int report_write_confusion(FILE *f, const report_run *run);

/* One run's curves in a comparison: per epoch from the first, NaN where
 * unknown; accuracies in %. */
typedef struct {
    const char *label;  /* the legend's text */
    int colour;         /* the run's colour (report_run_colour) and dashes */
    int best;           /* drawn thicker, on top */
    int count;          /* epochs recorded */
    const double *train_loss, *test_loss, *train_acc, *test_acc; /* (count) */
} compare_curves;

/* The comparison's curves: test and training loss and accuracy in four
 * plots, every run on the same axes (epochs 1 to `epochs`), a legend
 * below; losses above loss_cap (when above 0) are drawn on the top edge. */
int report_write_compare_curves(FILE *f, const compare_curves *runs, int n,
                                int epochs, double loss_cap);
/* A sample of the comparison's line for run i as inline SVG, for the HTML
 * table: ten colours, then the same dashed, then dotted. */
void report_write_swatch(FILE *f, int i);

/* ---- PNG pictures (report_png.c) */

/* The weights filters.png shows: the first convolution's filters, or
 * without one the first dense layer's rows, each an image of (c, h, w). */
typedef struct {
    int layer, count, c, h, w;
    const char *kind;
    int convolution;      /* 1: filters (out, c, kh, kw); 0: units' weights */
    const float *weights; /* (count, c, h, w) */
} filter_set;

/* Grid geometry shared by filters.png and the HTML caption: each filter
 * drawn scale times larger, its number (in the font at size font) in a
 * band of label pixels below it, gap pixels between and around. */
typedef struct {
    int shown, cols, scale, gap, font, label;
} filter_grid;

/* Finds the layer whose weights are shown: the first one whose "weight"
 * tensor has the given rank (4: convolution filters; 2: a dense layer's
 * rows over its whole input); 0 when there is none. */
int report_find_filters(nn_net *net, int rank, filter_set *fs);
/* How filters.png lays out the filters of fs. */
filter_grid report_filter_layout(const filter_set *fs);
/* filters.png: the filters in a grid on a blue-grey background, each
 * stretched over its own minimum..maximum and numbered below. */
int report_write_filters(const char *dir, const filter_set *fs, char *msg,
                         size_t msg_size);
/* Up to MAX_MISCLASSIFIED test images the net got wrong, in test order;
 * returns how many, indices in which. */
int report_find_misclassified(const report_run *run, int *which);
/* misclassified.png: each image enlarged three times over its label
 * "true>predicted" (class numbers; true in green, predicted in red). */
int report_write_misclassified(const char *dir, const report_run *run,
                               const int *which, int n, char *msg,
                               size_t msg_size);

#endif
