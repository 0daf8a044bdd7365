/* Several runs compared on one page (see compare.h): each run's
 * metrics.json read back, its curves drawn on shared axes by report_svg.c,
 * and index.html with the runs sorted by test accuracy. Plain files like
 * the run's own report: no scripts, nothing from the network. */
#include "compare.h"
#include "cli_file.h"
#include "cli_time.h"
#include "report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LABEL_SIZE 1024
#define MAX_KEYS 64 /* distinct setting names over all runs */

int metrics_read(const char *path, run_metrics *out, char *msg,
                 size_t msg_size)
{
    FILE *f = cli_open_regular(path, msg, msg_size);
    struct stat st;
    char *text = NULL;
    size_t size = METRICS_MAX_BYTES + 1; /* one more: too large is seen */
    int ok = 0;
    memset(out, 0, sizeof *out);
    if (!f)
        return 0;
    if (fstat(fileno(f), &st) == 0 && st.st_size < METRICS_MAX_BYTES)
        size = (size_t)st.st_size + 1; /* the end is seen too */
    text = malloc(size);
    if (!text) {
        snprintf(msg, msg_size, "%s: out of memory", path);
    } else {
        size = fread(text, 1, size, f);
        if (ferror(f))
            snprintf(msg, msg_size, "%s: read error", path);
        else
            ok = metrics_parse(text, size, path, out, msg, msg_size);
    }
    free(text);
    fclose(f);
    return ok;
}

int metrics_better(const run_metrics *a, const run_metrics *b)
{
    if (a->test_accuracy != b->test_accuracy)
        return a->test_accuracy > b->test_accuracy;
    return a->test_loss < b->test_loss;
}

void compare_format_seconds(char *buf, size_t size, double seconds)
{
    if (seconds < 60)
        snprintf(buf, size, "%.1f s", seconds);
    else
        cli_format_duration(buf, size, seconds);
}

/* ------------------------------------------------------------ the runs */

/* What the page says about the runs, worked out once. */
typedef struct {
    const compare_entry *runs;
    int n;
    const compare_page *page;
    const char *keys[MAX_KEYS]; /* setting names, in order of appearance */
    int differs[MAX_KEYS];      /* 1: not the same in every run */
    int key_count;
    char (*labels)[LABEL_SIZE]; /* (n) the settings that differ */
    int *order;                 /* (n) runs by test accuracy, pending last */
    int best;                   /* the best finished run, or -1 */
    int finished, started;
    int parameters_differ;      /* the runs' models differ in size */
} compare_view;

/* run's value of a setting, or NULL. */
static const char *setting(const run_metrics *m, const char *key)
{
    for (int i = 0; i < m->settings.count; i++)
        if (!strcmp(m->settings.key[i], key))
            return m->settings.value[i];
    return NULL;
}

/* The setting names of every run (the page's first keys first), and
 * which differ between runs. */
static void find_keys(compare_view *v)
{
    const run_metrics *first = NULL;
    for (int k = 0; k < v->page->first_key_count && k < MAX_KEYS; k++) {
        v->differs[k] = 1; /* a sweep's options differ by definition */
        v->keys[v->key_count++] = v->page->first_keys[k];
    }
    for (int r = 0; r < v->n; r++) {
        const run_metrics *m = v->runs[r].metrics;
        if (!m)
            continue;
        first = first ? first : m;
        for (int i = 0; i < m->settings.count; i++) {
            int k = 0;
            while (k < v->key_count && strcmp(v->keys[k], m->settings.key[i]))
                k++;
            if (k == v->key_count && k < MAX_KEYS)
                v->keys[v->key_count++] = m->settings.key[i];
        }
    }
    for (int k = 0; first && k < v->key_count; k++) {
        const char *want = setting(first, v->keys[k]);
        for (int r = 0; r < v->n; r++) {
            const char *have = v->runs[r].metrics
                             ? setting(v->runs[r].metrics, v->keys[k]) : want;
            if (!want || !have || strcmp(want, have))
                v->differs[k] = 1;
        }
    }
}

/* "lr=0.05, batch=32": the settings that differ ("; " between them when
 * a value holds a comma), else the run's name. */
static void make_label(const compare_view *v, int r, char *label)
{
    const run_metrics *m = v->runs[r].metrics;
    const char *separator = ", ";
    size_t used = 0;
    label[0] = '\0';
    for (int k = 0; k < v->key_count && m; k++) {
        const char *value = setting(m, v->keys[k]);
        if (v->differs[k] && value && strchr(value, ','))
            separator = "; "; /* a model spec */
    }
    for (int k = 0; k < v->key_count && m; k++) {
        const char *value = setting(m, v->keys[k]);
        if (v->differs[k] && used < LABEL_SIZE)
            used += (size_t)snprintf(label + used, LABEL_SIZE - used, "%s%s=%s",
                                     used ? separator : "", v->keys[k],
                                     value ? value : "?");
    }
    if (!label[0])
        snprintf(label, LABEL_SIZE, "%s", v->runs[r].name);
}

/* 1 when run i comes before run j in the table: started runs by last
 * test accuracy (higher first), then in the order given. */
static int comes_before(const compare_view *v, int i, int j)
{
    const run_metrics *x = v->runs[i].metrics, *y = v->runs[j].metrics;
    if (!x != !y)
        return x != NULL;
    if (x && (metrics_better(x, y) || metrics_better(y, x)))
        return metrics_better(x, y);
    return i < j;
}

/* v->order: the runs in table order (an insertion sort: a thousand runs
 * at most). */
static void sort_runs(compare_view *v)
{
    for (int i = 0; i < v->n; i++) {
        int r = i, k = i;
        for (; k > 0 && comes_before(v, r, v->order[k - 1]); k--)
            v->order[k] = v->order[k - 1];
        v->order[k] = r;
    }
}

static int view_init(compare_view *v, const compare_entry *runs, int n,
                     const compare_page *page)
{
    memset(v, 0, sizeof *v);
    v->runs = runs;
    v->n = n;
    v->page = page;
    v->best = -1;
    v->labels = calloc((size_t)(n > 0 ? n : 1), sizeof *v->labels);
    v->order = malloc(sizeof *v->order * (size_t)(n > 0 ? n : 1));
    if (!v->labels || !v->order)
        return 0;
    find_keys(v);
    for (int r = 0; r < n; r++) {
        const run_metrics *m = runs[r].metrics;
        make_label(v, r, v->labels[r]);
        v->started += m != NULL;
        v->finished += m && m->finished;
        if (m && m->finished &&
            (v->best < 0 || metrics_better(m, runs[v->best].metrics)))
            v->best = r;
        if (m && v->started > 1)
            for (int q = 0; q < r; q++)
                if (runs[q].metrics && runs[q].metrics->parameters != m->parameters)
                    v->parameters_differ = 1;
    }
    sort_runs(v);
    return 1;
}

static void view_free(compare_view *v)
{
    free(v->labels);
    free(v->order);
}

/* ------------------------------------------------------------- curves */

/* Every started run's curves, each value at its epoch (NaN before). */
static int text_curves(FILE *f, const void *ctx)
{
    const compare_view *v = ctx;
    compare_curves *c = calloc((size_t)(v->n > 0 ? v->n : 1), sizeof *c);
    double *values = NULL;
    size_t total = 0, at = 0;
    int count = 0, epochs = 1, classes = 2, ok = 0;
    for (int r = 0; r < v->n; r++)
        if (v->runs[r].metrics)
            total += 4 * (size_t)v->runs[r].metrics->planned_epochs;
    values = malloc(sizeof *values * (total > 0 ? total : 1));
    for (int r = 0; c && values && r < v->n; r++) {
        const run_metrics *m = v->runs[r].metrics;
        double *d = values + at;
        int last;
        if (!m)
            continue;
        last = m->epochs[m->epoch_count - 1].epoch;
        at += 4 * (size_t)m->planned_epochs;
        for (int e = 0; e < 4 * m->planned_epochs; e++)
            d[e] = NAN;
        for (int i = 0; i < m->epoch_count; i++) {
            const metrics_epoch *e = &m->epochs[i];
            d[e->epoch - 1] = e->train_loss;
            d[m->planned_epochs + e->epoch - 1] = e->test_loss;
            d[2 * m->planned_epochs + e->epoch - 1] = 100 * e->train_accuracy;
            d[3 * m->planned_epochs + e->epoch - 1] = 100 * e->test_accuracy;
        }
        c[count++] = (compare_curves){v->labels[r], r, r == v->best, last, d,
                                      d + m->planned_epochs,
                                      d + 2 * m->planned_epochs,
                                      d + 3 * m->planned_epochs};
        epochs = m->planned_epochs > epochs ? m->planned_epochs : epochs;
        classes = m->classes > classes ? m->classes : classes;
    }
    if (c && values)
        ok = report_write_compare_curves(f, c, count, epochs, 2 * log(classes));
    free(values);
    free(c);
    return ok;
}

/* -------------------------------------------------------------- page */

/* A relative path in an attribute: bytes outside a safe set as %XX. */
static void url_path(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("-._~/=,+", c))
            fputc(c, f);
        else
            fprintf(f, "%%%02X", c);
    }
}

/* A link to run r's report with the given text (its name as a tooltip);
 * a dash while it has none. */
static void run_link(FILE *f, const compare_view *v, int r, const char *text)
{
    if (!v->runs[r].metrics) {
        fprintf(f, "&#8211;");
        return;
    }
    fprintf(f, "<a href=\"");
    url_path(f, v->runs[r].href);
    fprintf(f, "/index.html\" title=\"");
    report_xml_text(f, v->runs[r].name);
    fprintf(f, "\">");
    report_xml_text(f, text);
    fprintf(f, "</a>");
}

/* What a run is doing: finished, running, waiting, stopped. */
static void run_status(FILE *f, const compare_entry *e)
{
    const run_metrics *m = e->metrics;
    if (e->status)
        report_xml_text(f, e->status);
    else if (!m)
        fprintf(f, "not started");
    else if (m->finished)
        fprintf(f, "finished");
    else
        fprintf(f, "stopped after epoch %d of %d",
                m->epochs[m->epoch_count - 1].epoch, m->planned_epochs);
}

/* The title, what is going on, and the best run. */
static void html_summary(FILE *f, const compare_view *v)
{
    const run_metrics *best = v->best >= 0 ? v->runs[v->best].metrics : NULL;
    char title[64];
    snprintf(title, sizeof title, "libnn: %s of %d run%s", v->page->title,
             v->n, v->n == 1 ? "" : "s");
    report_html_head(f, title, v->page->in_progress);
    fprintf(f, "<p class=\"status%s\">", v->page->in_progress ? " training" : "");
    if (v->page->note) {
        report_xml_text(f, v->page->note);
        fprintf(f, " ");
    }
    fprintf(f, "%d of %d run%s finished.", v->finished, v->n,
            v->n == 1 ? "" : "s");
    if (v->page->in_progress)
        fprintf(f, " This page reloads every %d s.", REPORT_REFRESH_SECONDS);
    fprintf(f, "</p>\n");
    if (best) {
        fprintf(f, "<p>Best finished run: <span class=\"badge\">best</span> <b>");
        report_xml_text(f, v->labels[v->best]);
        fprintf(f, "</b> with <b>%.2f%%</b> test accuracy after %d epoch%s (",
                100 * best->test_accuracy, best->planned_epochs,
                best->planned_epochs == 1 ? "" : "s");
        run_link(f, v, v->best, "its report");
        fprintf(f, ").</p>\n");
    }
}

/* The curves and how to read them. */
static void html_curves(FILE *f, const compare_view *v)
{
    fprintf(f, "<h2>Curves</h2>\n<p class=\"key\">Every run on the same axes, "
               "one colour per run%s; the best finished run is drawn thicker.</p>\n"
               "<img src=\"curves.svg\" width=\"940\" alt=\"test and training "
               "loss and accuracy per epoch of every run\">\n",
            v->n > 10 ? " (after ten colours, dashed and dotted lines)" : "");
}

/* A setting in a cell, where a long model spec may break after its
 * commas. */
static void setting_cell(FILE *f, const char *value)
{
    char part[LABEL_SIZE];
    while (*value) {
        size_t n = strcspn(value, ",");
        n += value[n] == ',';
        n = n < sizeof part ? n : sizeof part - 1;
        memcpy(part, value, n);
        part[n] = '\0';
        report_xml_text(f, part);
        value += n;
        if (part[n - 1] == ',' && *value)
            fprintf(f, "<wbr>");
    }
}

/* The table's head: the runs' names when the page shows them, the
 * settings that differ (or the names when none does), then the figures:
 * one cell for each of html_table's row cells. */
static void table_head(FILE *f, const compare_view *v, int *differ)
{
    *differ = 0;
    fprintf(f, "<h2>Runs by test accuracy</h2>\n<table class=\"runs\">\n"
               "<tr><th>#</th><th>line</th>%s",
            v->page->show_names ? "<th>run</th>" : "");
    for (int k = 0; k < v->key_count; k++)
        if (v->differs[k]) {
            ++*differ;
            fprintf(f, "<th>");
            report_xml_text(f, v->keys[k]);
            fprintf(f, "</th>");
        }
    fprintf(f, "%s<th>test accuracy</th><th>test loss</th><th>train accuracy</th>"
               "<th>train loss</th><th>epochs done</th><th>training time</th>"
               "<th>images/s</th>%s<th>status</th><th>report</th></tr>\n",
            *differ || v->page->show_names ? "" : "<th>run</th>",
            v->parameters_differ ? "<th>parameters</th>" : "");
}

/* A started run's figures. */
static void table_figures(FILE *f, const compare_view *v, const run_metrics *m)
{
    const metrics_epoch *last = &m->epochs[m->epoch_count - 1];
    char time[32];
    compare_format_seconds(time, sizeof time, m->seconds);
    fprintf(f, "<td class=\"num acc\">%.2f%%</td><td class=\"num\">%.4f</td>"
               "<td class=\"num\">%.2f%%</td><td class=\"num\">%.4f</td>"
               "<td class=\"num\">%d/%d</td><td class=\"num\">%s</td>"
               "<td class=\"num\">%.0f</td>",
            100 * m->test_accuracy, m->test_loss, 100 * last->train_accuracy,
            last->train_loss, last->epoch, m->planned_epochs, time,
            m->images_per_second);
    if (v->parameters_differ)
        fprintf(f, "<td class=\"num\">%.0f</td>", m->parameters);
}

/* The table of runs by test accuracy. */
static void html_table(FILE *f, const compare_view *v)
{
    int differ;
    table_head(f, v, &differ);
    for (int i = 0; i < v->n; i++) {
        int r = v->order[i];
        const run_metrics *m = v->runs[r].metrics;
        fprintf(f, "<tr class=\"run%s\"><td class=\"num\">%d</td><td>",
                r == v->best ? " best" : "", i + 1);
        report_write_swatch(f, r);
        fprintf(f, "</td>");
        if (v->page->show_names) {
            fprintf(f, "<td>");
            setting_cell(f, v->runs[r].name);
            fprintf(f, "</td>");
        }
        for (int k = 0; m && k < v->key_count; k++) {
            const char *value = setting(m, v->keys[k]);
            if (!v->differs[k])
                continue;
            fprintf(f, "<td>");
            setting_cell(f, value ? value : "");
            fprintf(f, "</td>");
        }
        if ((!differ && !v->page->show_names) || (!m && differ)) {
            /* no settings to show yet: the name across their columns */
            fprintf(f, "<td colspan=\"%d\">", differ ? differ : 1);
            setting_cell(f, v->runs[r].name);
            fprintf(f, "</td>");
        }
        if (m)
            table_figures(f, v, m);
        for (int c = 0; !m && c < 7 + v->parameters_differ; c++)
            fprintf(f, "<td%s></td>", c ? "" : " class=\"num acc\"");
        fprintf(f, "<td>");
        run_status(f, &v->runs[r]);
        if (r == v->best)
            fprintf(f, " <span class=\"badge\">best</span>");
        fprintf(f, "</td><td>");
        run_link(f, v, r, "report");
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n<p class=\"key\">Test accuracy and loss after the "
               "last epoch recorded; training time and images/s over the "
               "epochs recorded.</p>\n");
}

/* The settings every run shares. */
static void html_shared(FILE *f, const compare_view *v)
{
    const run_metrics *first = NULL;
    int shown = 0;
    for (int r = 0; r < v->n && !first; r++)
        first = v->runs[r].metrics;
    for (int k = 0; first && k < v->key_count; k++) {
        if (v->differs[k])
            continue;
        if (!shown++)
            fprintf(f, "<h2>Settings of every run</h2>\n<table>\n");
        fprintf(f, "<tr><th>");
        report_xml_text(f, v->keys[k]);
        fprintf(f, "</th><td>");
        report_xml_text(f, setting(first, v->keys[k]));
        fprintf(f, "</td></tr>\n");
    }
    if (first && !v->parameters_differ)
        fprintf(f, "%s<tr><th>trainable parameters</th><td>%.0f</td></tr>\n",
                shown++ ? "" : "<h2>Settings of every run</h2>\n<table>\n",
                first->parameters);
    if (shown)
        fprintf(f, "</table>\n");
}

static int text_index(FILE *f, const void *ctx)
{
    const compare_view *v = ctx;
    html_summary(f, v);
    html_curves(f, v);
    html_table(f, v);
    html_shared(f, v);
    fprintf(f, "<p class=\"key\">Written by libnn from each run's "
               "metrics.json.</p>\n</body>\n</html>\n");
    return 1;
}

int report_compare_write(const char *dir, const compare_entry *runs, int n,
                         const compare_page *page, char *msg, size_t msg_size)
{
    static const struct {
        const char *name;
        int (*write)(FILE *f, const void *ctx);
    } files[2] = {{"curves.svg", text_curves}, {"index.html", text_index}};
    compare_view v;
    int ok = view_init(&v, runs, n, page);
    if (!ok)
        snprintf(msg, msg_size, "%s: out of memory", dir);
    for (int i = 0; ok && i < 2; i++) {
        char path[PATH_SIZE];
        ok = report_join_path(path, dir, files[i].name);
        if (!ok)
            snprintf(msg, msg_size, "%s/%s: path too long", dir, files[i].name);
        else
            ok = report_write_file(path, files[i].write, &v, msg, msg_size);
    }
    view_free(&v);
    return ok;
}
