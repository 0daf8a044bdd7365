/* The HTML report of a training run: see report.h. This file writes
 * index.html, the report's files and report_write; the pictures come from
 * report_svg.c and report_png.c, metrics.json from report_json.c.
 *
 * The report is a directory of plain files that a browser opens offline:
 * hand-written HTML and SVG (escaped text, no scripts, no external
 * resources) and PNG pictures. */
#include "report_internal.h"
#include "nn/advanced.h"

#include "cli_model.h"
#include "diagnostics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- files */

int report_write_file(const char *path,
                      int (*write)(FILE *f, const void *ctx), const void *ctx,
                      char *msg, size_t msg_size)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    int ok = f != NULL;
    if (ok) {
        ok = write(f, ctx);
        ok = !ferror(f) && ok;
        ok = fclose(f) == 0 && ok;
    }
    if (!ok)
        snprintf(msg, msg_size, "%s: out of memory", path);
    else
        ok = nn_write_file_atomic(path, text, size, msg, msg_size) == NN_OK;
    free(text);
    return ok;
}

/* ---------------------------------------------------------------- HTML */

static const char *schedule_name(nn_schedule_kind k)
{
    static const char *const names[] = {"constant", "step", "exponential",
                                        "cosine"};
    return (unsigned)k < 4 ? names[k] : "?";
}

void report_html_head(FILE *f, const char *title, int refresh)
{
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    if (refresh)
        fprintf(f, "<meta http-equiv=\"refresh\" content=\"%d\">\n",
                REPORT_REFRESH_SECONDS);
    fprintf(f, "<title>");
    report_xml_text(f, title);
    fprintf(f, "</title>\n<style>\n"
               "body { font-family: 'DejaVu Sans', Arial, sans-serif; margin: 24px;"
               " color: #222; max-width: 1000px; }\n"
               "h1 { margin-bottom: 4px; } h2 { margin-top: 32px; border-bottom:"
               " 1px solid #ccc; }\n"
               "table { border-collapse: collapse; margin: 8px 0; }\n"
               "td, th { border: 1px solid #ccc; padding: 3px 10px; }\n"
               "th { background: #f0f3f7; text-align: left; }\n"
               "td.num { text-align: right; font-variant-numeric: tabular-nums; }\n"
               ".status { font-size: 18px; padding: 8px 12px; background: #eef5ee;"
               " display: inline-block; }\n"
               ".training { background: #fff4dc; }\n"
               ".pixels { image-rendering: pixelated; border: 1px solid #ccc; }\n"
               ".key { color: #555; }\n"
               "tr.best td { background: #e6f4e6; font-weight: bold; }\n"
               ".badge { background: #2ca02c; color: white; border-radius: 4px;"
               " padding: 0 6px; font-size: 12px; }\n"
               "table.runs { font-size: 14px; }\n"
               "table.runs td, table.runs th { padding: 3px 6px; }\n"
               ".warnings { background: #fde8e8; border-left: 4px solid #c80000;"
               " padding: 4px 12px; }\n"

               "</style>\n</head>\n<body>\n<h1>");
    report_xml_text(f, title);
    fprintf(f, "</h1>\n");
}

/* Training or finished. */
static void html_status(FILE *f, const report_run *run)
{
    int epochs = run->config->epochs;
    if (run->epochs_done < epochs)
        fprintf(f, "<p class=\"status training\">Training: epoch %d of %d done."
                   " This page reloads every %d s.</p>\n",
                run->epochs_done, epochs, REPORT_REFRESH_SECONDS);
    else
        fprintf(f, "<p class=\"status\">Finished: %d epoch%s.</p>\n", epochs,
                epochs == 1 ? "" : "s");
}

void report_describe_optimizer(const nn_optim_settings *s, char *buf,
                               size_t size)
{
    switch (s->kind) {
    case NN_OPTIM_SGD:
        snprintf(buf, size, "SGD, momentum %g%s%s, weight decay %g",
                 s->momentum, s->nesterov ? " (Nesterov)" : "",
                 s->momentum_kind == NN_MOMENTUM_EMA ? " (EMA)" : "",
                 s->weight_decay);
        return;
    case NN_OPTIM_ADAM:
    case NN_OPTIM_ADAMW:
        snprintf(buf, size, "%s, betas %g, %g, eps %g, %sweight decay %g",
                 s->kind == NN_OPTIM_ADAM ? "Adam" : "AdamW", s->beta1,
                 s->beta2, s->eps,
                 s->kind == NN_OPTIM_ADAMW ? "decoupled " : "",
                 s->weight_decay);
        return;
    case NN_OPTIM_RMSPROP:
        snprintf(buf, size, "RMSprop, alpha %g, momentum %g, eps %g, weight "
                 "decay %g", s->alpha, s->momentum, s->eps, s->weight_decay);
        return;
    }
    snprintf(buf, size, "%s, weight decay %g", nn_optim_name(s->kind),
             s->weight_decay); /* an optimizer described by name only */
}

/* The optimizer and augmentation rows of the settings table. */
static void html_training_settings(FILE *f, const nn_train_config *c)
{
    char optimizer[160];
    report_describe_optimizer(&c->optim, optimizer, sizeof optimizer);
    fprintf(f, "<tr><th>optimizer</th><td>%s</td></tr>\n", optimizer);
    fprintf(f, "<tr><th>learning rate</th><td>%g, %s schedule, %g epochs of "
               "warm-up</td></tr>\n<tr><th>augmentation</th><td>",
            c->schedule.lr, schedule_name(c->schedule.kind),
            c->schedule.warmup_epochs);
    if (c->augment_flip)
        fprintf(f, "random horizontal flips%s", c->augment_crop ? ", " : "");
    if (c->augment_crop)
        fprintf(f, "random crops after zero-padding by %d", c->augment_crop);
    fprintf(f, "%s</td></tr>\n", c->augment_flip || c->augment_crop ? "" : "none");
}

/* The run settings table. */
static void html_settings(FILE *f, const report_run *run)
{
    const nn_train_config *c = run->config;
    char spec[4096];
    if (nn_net_spec(run->net, spec, sizeof spec) != NN_OK)
        spec[0] = '\0';
    fprintf(f, "<h2>Run settings</h2>\n<table>\n<tr><th>model</th><td><code>");
    report_xml_text(f, spec);
    fprintf(f, "</code></td></tr>\n"
               "<tr><th>trainable parameters</th><td>%zu</td></tr>\n"
               "<tr><th>images</th><td>%d training, %d test, %d classes, "
               "%dx%dx%d</td></tr>\n"
               "<tr><th>epochs, batch, seed</th><td>%d, %d, %llu</td></tr>\n",
            nn_net_param_count(run->net), run->train->count, run->test->count,
            run->test->classes, run->test->c, run->test->h, run->test->w,
            c->epochs, c->batch, (unsigned long long)c->seed);
    html_training_settings(f, c);
    fprintf(f, "<tr><th>threads</th><td>%d</td></tr>\n</table>\n",
            nn_net_threads(run->net));
}

/* Loss and accuracy after the last finished epoch. */
static void html_metrics(FILE *f, const report_run *run)
{
    const report_epoch *last = &run->epochs[run->epochs_done - 1];
    fprintf(f, "<h2>Metrics after epoch %d</h2>\n<table>\n"
               "<tr><th></th><th>loss</th><th>accuracy</th></tr>\n"
               "<tr><th>test</th><td class=\"num\">%.4f</td><td class=\"num\">"
               "<b>%.2f%%</b></td></tr>\n"
               "<tr><th>train</th><td class=\"num\">%.4f</td><td class=\"num\">"
               "%.2f%%</td></tr>\n</table>\n"
               "<p>Learning rate %.4g at the end of the epoch; %.1f s of "
               "training, %.0f images/s in the last epoch. All numbers: "
               "<a href=\"metrics.json\">metrics.json</a>.</p>\n",
            run->epochs_done, last->test_loss, 100 * last->test_accuracy,
            last->train.train_loss, 100 * last->train.train_accuracy,
            last->train.lr, report_run_seconds(run),
            last->train.images_per_second);
}

/* Curves and the per-epoch table. */
static void html_epochs(FILE *f, const report_run *run)
{
    fprintf(f, "<h2>Training curves</h2>\n<img src=\"curves.svg\" "
               "alt=\"loss and accuracy per epoch\" width=\"940\" height=\"360\">\n"
               "<table>\n<tr><th>epoch</th><th>lr</th><th>train loss</th>"
               "<th>train accuracy</th><th>test loss</th><th>test accuracy</th>"
               "<th>seconds</th></tr>\n");
    for (int e = run->first_epoch; e < run->epochs_done; e++) {
        const report_epoch *r = &run->epochs[e];
        fprintf(f, "<tr><td class=\"num\">%d</td><td class=\"num\">%.4g</td>"
                   "<td class=\"num\">%.4f</td><td class=\"num\">%.2f%%</td>"
                   "<td class=\"num\">%.4f</td><td class=\"num\">%.2f%%</td>"
                   "<td class=\"num\">%.1f</td></tr>\n",
                e + 1, r->train.lr, r->train.train_loss,
                100 * r->train.train_accuracy, r->test_loss,
                100 * r->test_accuracy, r->train.seconds);
    }
    fprintf(f, "</table>\n");
}

/* Confusion matrix and per-class precision, recall and F1. */
static void html_classes(FILE *f, const report_run *run)
{
    int k = run->test->classes;
    fprintf(f, "<h2>Test set by class</h2>\n<img src=\"confusion.svg\" "
               "alt=\"confusion matrix\">\n<table>\n<tr><th>#</th><th>class</th>"
               "<th>images</th><th>precision</th><th>recall</th><th>F1</th></tr>\n");
    for (int i = 0; i < k; i++) {
        long support = 0;
        for (int j = 0; j < k; j++)
            support += run->confusion[i * k + j];
        fprintf(f, "<tr><td class=\"num\">%d</td><td>", i);
        report_xml_text(f, run->class_names[i]);
        fprintf(f, "</td><td class=\"num\">%ld</td><td class=\"num\">%.4f</td>"
                   "<td class=\"num\">%.4f</td><td class=\"num\">%.4f</td></tr>\n",
                support, run->precision[i], run->recall[i], run->f1[i]);
    }
    fprintf(f, "</table>\n");
}

/* The layer table: output shapes and parameter counts; for a graph also
 * each layer's name and the layers it reads when not just the previous. */
static void html_layers(FILE *f, nn_net *net)
{
    int c, h, w, graph = cli_net_is_graph(net);
    size_t total = 0;
    nn_net_input_shape(net, &c, &h, &w);
    fprintf(f, "<h2>Layers</h2>\n<table>\n<tr><th>#</th><th>layer</th>"
               "<th>output (c, h, w)</th><th>parameters</th>%s</tr>\n"
               "<tr><td>-</td><td>input</td><td class=\"num\">%d, %d, %d</td>"
               "<td class=\"num\">0</td>%s</tr>\n",
            graph ? "<th>name</th><th>reads</th>" : "", c, h, w,
            graph ? "<td></td><td></td>" : "");
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        char reads[CLI_READS_SIZE];
        if (nn_net_layer_info(net, i, &info) != NN_OK)
            continue;
        fprintf(f, "<tr><td class=\"num\">%d</td><td>", i);
        report_xml_text(f, info.kind);
        fprintf(f, "</td><td class=\"num\">%d, %d, %d</td><td class=\"num\">%zu"
                   "</td>", info.out_c, info.out_h, info.out_w, info.params);
        if (graph) {
            fprintf(f, "<td>");
            report_xml_text(f, info.name);
            fprintf(f, "</td><td>");
            report_xml_text(f, cli_layer_reads(net, i, &info, reads, sizeof reads));
            fprintf(f, "</td>");
        }
        fprintf(f, "</tr>\n");
        total += info.params;
    }
    fprintf(f, "<tr><th></th><th>total</th><th></th><td class=\"num\"><b>%zu</b>"
               "</td>%s</tr>\n</table>\n", total, graph ? "<td></td><td></td>" : "");
}

/* The filter picture and what it shows. */
static void html_filters(FILE *f, const filter_set *fs)
{
    filter_grid g = report_filter_layout(fs);
    fprintf(f, "<h2>Learned filters</h2>\n");
    if (!fs->weights) {
        fprintf(f, "<p>The model has no convolution or dense layer.</p>\n");
        return;
    }
    fprintf(f, "<p><img class=\"pixels\" src=\"filters.png\" alt=\"filters\"></p>\n"
               "<p class=\"key\">Layer %d (%s): %d of its %d %s of %dx%dx%d, "
               "drawn %dx larger, in rows of %d and numbered from 0 in the "
               "layer's order; each is scaled from its own minimum (black) "
               "to maximum (white).</p>\n",
            fs->layer, fs->kind, g.shown, fs->count,
            fs->convolution ? "filters" : "units' weights", fs->c,
            fs->h, fs->w, g.scale, g.cols);
}

/* The misclassified grid with its key and the cells in words. */
static void html_misclassified(FILE *f, const report_run *run,
                               const int *which, int n)
{
    fprintf(f, "<h2>Misclassified test images</h2>\n");
    if (n == 0) {
        fprintf(f, "<p>None: every test image was classified correctly.</p>\n");
        return;
    }
    fprintf(f, "<p>The first %d errors in test-set order, %d per row, each "
               "labelled <b><span style=\"color:#007828\">true class</span> &gt; "
               "<span style=\"color:#c80000\">predicted class</span></b> by "
               "number:</p>\n<table>\n<tr><th>number</th>", n, MISCLASSIFIED_COLS);
    for (int k = 0; k < run->test->classes; k++)
        fprintf(f, "<td class=\"num\">%d</td>", k);
    fprintf(f, "</tr>\n<tr><th>class</th>");
    for (int k = 0; k < run->test->classes; k++) {
        fprintf(f, "<td>");
        report_xml_text(f, run->class_names[k]);
        fprintf(f, "</td>");
    }
    fprintf(f, "</tr>\n</table>\n<p><img class=\"pixels\" src=\"misclassified.png\" "
               "alt=\"misclassified test images\"></p>\n"
               "<details><summary>The same images in words</summary>\n<ol>\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "<li>test image %d: ", which[i]);
        report_xml_text(f, run->class_names[run->test->labels[which[i]]]);
        fprintf(f, " &#8594; ");
        report_xml_text(f, run->class_names[run->predicted[which[i]]]);
        fprintf(f, "</li>\n");
    }
    fprintf(f, "</ol>\n</details>\n");
}

/* The diagnostics' warnings, at the top of the page. */
static void html_warnings(FILE *f, const diag_run *d)
{
    if (!d || d->warning_count == 0)
        return;
    fprintf(f, "<div class=\"warnings\">\n<h2>Warnings</h2>\n<ul>\n");
    for (int i = 0; i < d->warning_count; i++) {
        fprintf(f, "<li>");
        report_xml_text(f, d->warnings[i].text);
        fprintf(f, "</li>\n");
    }
    fprintf(f, "</ul>\n</div>\n");
}

/* A statistic in a table cell; empty where it does not apply. */
static void html_stat(FILE *f, double v, int percent)
{
    if (isnan(v))
        fprintf(f, "<td></td>");
    else if (percent)
        fprintf(f, "<td class=\"num\">%.0f%%</td>", 100 * v);
    else
        fprintf(f, "<td class=\"num\">%.3g</td>", v);
}

/* One epoch's statistics per layer: layers with weights or relu units. */
static void html_health_epoch(FILE *f, const report_run *run, int e)
{
    const diag_run *d = run->diagnostics;
    int graph = cli_net_is_graph(run->net);
    fprintf(f, "<table>\n<tr><th>#</th><th>layer</th>%s<th>weight norm</th>"
               "<th>gradient norm</th><th>update / weight</th><th>dead</th>"
               "</tr>\n", graph ? "<th>name</th>" : "");
    for (int i = 0; i < d->layers; i++) {
        const diag_layer *s = diag_stats(d, e, i);
        nn_layer_info info;
        if (!s || (isnan(s->weight_norm) && isnan(s->dead)) ||
            nn_net_layer_info(run->net, i, &info) != NN_OK)
            continue;
        fprintf(f, "<tr><td class=\"num\">%d</td><td>", i);
        report_xml_text(f, info.kind);
        fprintf(f, "</td>");
        if (graph) {
            fprintf(f, "<td>");
            report_xml_text(f, info.name);
            fprintf(f, "</td>");
        }
        html_stat(f, s->weight_norm, 0);
        html_stat(f, s->grad_norm, 0);
        html_stat(f, s->update_ratio, 0);
        html_stat(f, s->dead, 1);
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

/* Training health: the last epoch's table, the earlier ones folded. */
static void html_health(FILE *f, const report_run *run)
{
    const diag_run *d = run->diagnostics;
    int last = run->epochs_done - 1;
    if (!d)
        return;
    fprintf(f, "<h2>Training health</h2>\n<p class=\"key\">Per layer, "
               "measured after each epoch on the first %d training images: "
               "the norm of the weights (biases left out), of their gradient, "
               "how far the weights moved over the epoch relative to their "
               "size (|w<sub>after</sub> &#8722; w<sub>before</sub>| / "
               "|w<sub>before</sub>|), and for relu layers the share of "
               "channels (units) never positive.</p>\n", d->probe);
    if (!diag_stats(d, last, 0)) {
        fprintf(f, "<p>Not measured in epoch %d.</p>\n", last + 1);
        return;
    }
    fprintf(f, "<h3>Epoch %d</h3>\n", last + 1);
    html_health_epoch(f, run, last);
    if (last > run->first_epoch) {
        fprintf(f, "<details><summary>Earlier epochs</summary>\n");
        for (int e = last - 1; e >= run->first_epoch; e--)
            if (diag_stats(d, e, 0)) {
                fprintf(f, "<h3>Epoch %d</h3>\n", e + 1);
                html_health_epoch(f, run, e);
            }
        fprintf(f, "</details>\n");
    }
}

static int write_index(FILE *f, const report_run *run, const filter_set *fs,
                       const int *which, int n)
{
    report_html_head(f, "libnn training report",
                     run->epochs_done < run->config->epochs);
    if (run->compare_href) {
        fprintf(f, "<p>One run of a sweep: <a href=\"");
        report_xml_text(f, run->compare_href);
        fprintf(f, "\">all runs compared</a>.</p>\n");
    }
    html_status(f, run);
    html_warnings(f, run->diagnostics);
    html_settings(f, run);
    html_metrics(f, run);
    html_epochs(f, run);
    html_classes(f, run);
    html_layers(f, run->net);
    html_health(f, run);
    html_filters(f, fs);
    html_misclassified(f, run, which, n);
    fprintf(f, "<p class=\"key\">Written by libnn's trainer after epoch %d.</p>\n"
               "</body>\n</html>\n", run->epochs_done);
    return 1;
}

/* ------------------------------------------------------------ the report */

int report_prepare(const char *dir, char *msg, size_t msg_size)
{
    struct stat st;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(msg, msg_size, "cannot create %s (%s)", dir, strerror(errno));
        return 0;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(msg, msg_size, "%s is not a directory", dir);
        return 0;
    }
    return 1;
}

/* What the text files of one report are made from. */
typedef struct {
    const report_run *run;
    filter_set filters;           /* weights NULL: no picture */
    int which[MAX_MISCLASSIFIED]; /* misclassified test images */
    int misclassified;            /* how many of which are used */
} report_view;

static int text_curves(FILE *f, const void *view)
{
    return report_write_curves(f, ((const report_view *)view)->run);
}

static int text_confusion(FILE *f, const void *view)
{
    return report_write_confusion(f, ((const report_view *)view)->run);
}

static int text_metrics(FILE *f, const void *view)
{
    return report_write_json(f, ((const report_view *)view)->run);
}

static int text_index(FILE *f, const void *view)
{
    const report_view *v = view;
    return write_index(f, v->run, &v->filters, v->which, v->misclassified);
}

/* The text files in the order they are written: index.html last, once
 * everything it refers to exists. */
static const struct {
    const char *name;
    int (*write)(FILE *f, const void *view);
} text_files[] = {
    {"curves.svg", text_curves},
    {"confusion.svg", text_confusion},
    {"metrics.json", text_metrics},
    {"index.html", text_index},
};

int report_write(const char *dir, const report_run *run, char *msg,
                 size_t msg_size)
{
    report_view v = {run, {0}, {0}, 0};
    v.misclassified = report_find_misclassified(run, v.which);
    if (!report_find_filters(run->net, 4, &v.filters) &&
        !report_find_filters(run->net, 2, &v.filters))
        v.filters.weights = NULL;
    if (v.filters.weights &&
        !report_write_filters(dir, &v.filters, msg, msg_size))
        return 0;
    if (!report_write_misclassified(dir, run, v.which, v.misclassified, msg,
                                    msg_size))
        return 0;
    for (size_t i = 0; i < sizeof text_files / sizeof *text_files; i++) {
        char path[PATH_SIZE];
        if (!report_join_path(path, dir, text_files[i].name)) {
            snprintf(msg, msg_size, "%s/%s: path too long", dir,
                     text_files[i].name);
            return 0;
        }
        if (!report_write_file(path, text_files[i].write, &v, msg, msg_size))
            return 0;
    }
    return 1;
}
