/* The SVG pictures, written as text from a few plot primitives (axes with
 * ticks, a series in a line style, a legend): a run's curves.svg and
 * confusion.svg, and the curves of several runs compared. */
#include "report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An axis from lo to hi with a tick every step (1, 2 or 5 times a power
 * of ten), about `ticks` ticks over [min, max]. */
typedef struct {
    double lo, hi, step;
} axis;

static axis nice_axis(double min, double max, int ticks)
{
    axis a;
    double raw, magnitude, norm;
    if (!(max > min))
        max = min + 1;
    raw = (max - min) / ticks;
    magnitude = pow(10, floor(log10(raw)));
    norm = raw / magnitude;
    a.step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
    a.lo = floor(min / a.step + 1e-9) * a.step;
    a.hi = ceil(max / a.step - 1e-9) * a.step;
    return a;
}

/* Decimals a tick label needs for the axis's step. */
static int axis_decimals(const axis *a)
{
    int d = (int)ceil(-log10(a->step) - 1e-9);
    return d > 0 ? d : 0;
}

/* A plot area in SVG pixels. */
typedef struct {
    double x, y, w, h;
} box;

static double map_x(const box *b, const axis *a, double v)
{
    return b->x + (v - a->lo) / (a->hi - a->lo) * b->w;
}

/* v on the axis, clamped to its ends (a diverged loss is drawn on the
 * frame rather than off the picture). */
static double map_y(const box *b, const axis *a, double v)
{
    v = fmin(fmax(v, a->lo), a->hi);
    return b->y + b->h - (v - a->lo) / (a->hi - a->lo) * b->h;
}

/* Frame, grid lines, ticks with labels and the axis titles of one plot. */
static void svg_axes(FILE *f, const box *b, const axis *ax, const axis *ay,
                     const char *title, const char *x_title)
{
    int dx = axis_decimals(ax), dy = axis_decimals(ay);
    for (int i = 0; ax->lo + i * ax->step <= ax->hi + 1e-9 * ax->step; i++) {
        double v = ax->lo + i * ax->step, x = map_x(b, ax, v);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/>\n"
                   "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='axis'/>\n"
                   "<text x='%.1f' y='%.1f' text-anchor='middle'>%.*f</text>\n",
                x, b->y, x, b->y + b->h, x, b->y + b->h, x, b->y + b->h + 5,
                x, b->y + b->h + 19, dx, v);
    }
    for (int i = 0; ay->lo + i * ay->step <= ay->hi + 1e-9 * ay->step; i++) {
        double v = ay->lo + i * ay->step, y = map_y(b, ay, v);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/>\n"
                   "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='axis'/>\n"
                   "<text x='%.1f' y='%.1f' text-anchor='end'>%.*f</text>\n",
                b->x, y, b->x + b->w, y, b->x - 5, y, b->x, y, b->x - 8,
                y + 4, dy, v);
    }
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' class='frame'/>\n"
               "<text x='%.1f' y='%.1f' text-anchor='middle' class='title'>",
            b->x, b->y, b->w, b->h, b->x + b->w / 2, b->y - 12);
    report_xml_text(f, title);
    fprintf(f, "</text>\n<text x='%.1f' y='%.1f' text-anchor='middle'>",
            b->x + b->w / 2, b->y + b->h + 38);
    report_xml_text(f, x_title);
    fprintf(f, "</text>\n");
}

/* How a line is drawn. */
typedef struct {
    const char *colour;
    const char *dash;   /* an SVG dash array ("7 4"), or NULL: solid */
    double width;
} line_style;

/* The stroke attributes of a style. */
static void svg_stroke(FILE *f, const line_style *s)
{
    fprintf(f, "fill='none' stroke='%s' stroke-width='%.1f'", s->colour,
            s->width);
    if (s->dash)
        fprintf(f, " stroke-dasharray='%s'", s->dash);
}

/* One series, value i at epoch i + 1, as a line (with a marker on every
 * point when markers is not 0). NaN values before the first known one are
 * left out: epochs before a resumed run's start are not known. */
static void svg_series(FILE *f, const box *b, const axis *ax, const axis *ay,
                       const double *values, int n, const line_style *s,
                       double markers)
{
    int first = 0;
    while (first < n && isnan(values[first]))
        first++;
    if (first == n)
        return;
    fprintf(f, "<polyline ");
    svg_stroke(f, s);
    fprintf(f, " points='");
    for (int i = first; i < n; i++)
        fprintf(f, "%s%.1f,%.1f", i > first ? " " : "", map_x(b, ax, i + 1),
                map_y(b, ay, values[i]));
    fprintf(f, "'/>\n");
    for (int i = first; markers > 0 && i < n; i++)
        fprintf(f, "<circle fill='%s' cx='%.1f' cy='%.1f' r='%.1f'/>\n",
                s->colour, map_x(b, ax, i + 1), map_y(b, ay, values[i]),
                markers);
}

/* One entry of a legend: a sample of the line and its label. */
typedef struct {
    const char *label;
    line_style style;
} legend_entry;

#define LEGEND_ROW 18      /* pixels between entries */
#define LEGEND_CHAR 7.5    /* a character's width at the pictures' 13 px */
#define LEGEND_MAX_CHARS 110

/* Width of a legend column for these entries, and the longest label
 * (bytes, at most LEGEND_MAX_CHARS) through *chars. */
static double legend_column_width(const legend_entry *e, int n, int *chars)
{
    size_t longest = 0;
    for (int i = 0; i < n; i++)
        longest = strlen(e[i].label) > longest ? strlen(e[i].label) : longest;
    *chars = longest > LEGEND_MAX_CHARS ? LEGEND_MAX_CHARS : (int)longest;
    return 52 + LEGEND_CHAR * *chars;
}

/* A label cut to chars bytes (on a character boundary) with an ellipsis. */
static void svg_label(FILE *f, const char *label, int chars)
{
    char cut[LEGEND_MAX_CHARS + 4];
    size_t n = strlen(label);
    if (n <= (size_t)chars) {
        report_xml_text(f, label);
        return;
    }
    n = (size_t)chars - 1;
    while (n > 0 && ((unsigned char)label[n] & 0xC0) == 0x80)
        n--; /* not inside a UTF-8 sequence */
    memcpy(cut, label, n);
    memcpy(cut + n, "\xE2\x80\xA6", 4); /* U+2026 and the terminator */
    report_xml_text(f, cut);
}

/* A framed legend with its top left corner at (x, y), entries filling
 * `columns` columns of width column_width row by row. */
static void svg_legend(FILE *f, double x, double y, const legend_entry *e,
                       int n, int columns, double column_width, int chars)
{
    int rows = (n + columns - 1) / columns;
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%d' class='legend'/>\n",
            x, y, columns * column_width, rows * LEGEND_ROW + 10);
    for (int i = 0; i < n; i++) {
        double lx = x + (i % columns) * column_width;
        double ly = y + 15 + LEGEND_ROW * (i / columns);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' ", lx + 8, ly,
                lx + 36, ly);
        svg_stroke(f, &e[i].style);
        fprintf(f, "/><circle cx='%.1f' cy='%.1f' r='3.5' fill='%s'/>"
                   "<text x='%.1f' y='%.1f'>", lx + 22, ly, e[i].style.colour,
                lx + 44, ly + 4);
        svg_label(f, e[i].label, chars);
        fprintf(f, "</text>\n");
    }
}

/* Shared look of the SVG pictures. */
static void svg_begin(FILE *f, int width, int height)
{
    fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n"
               "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
               "viewBox='0 0 %d %d' font-family='DejaVu Sans, Arial, sans-serif' "
               "font-size='13'>\n<style>\n"
               ".grid { stroke: #e4e4e4; }\n.axis { stroke: #333; }\n"
               ".frame { fill: none; stroke: #333; }\n"
               ".title { font-size: 15px; font-weight: bold; }\n"
               ".legend { fill: white; stroke: #999; }\n"
               ".note { fill: #555; font-size: 12px; }\n"
               "</style>\n<rect width='100%%' height='100%%' fill='white'/>\n",
            width, height, width, height);
}

/* The accuracy axis (in %) for values from lo up: from a little below lo
 * (at most 90) to 100. */
static axis accuracy_axis(double lo)
{
    return nice_axis(fmax(0, fmin(90, lo - 0.1 * (100 - lo))), 100, 5);
}

/* The epoch axis of a run of `epochs` epochs: whole epochs. */
static axis epoch_axis(int epochs)
{
    axis a = nice_axis(0, epochs, 8);
    if (a.step < 1)
        a.step = 1;
    return a;
}

int report_write_curves(FILE *f, const report_run *run)
{
    enum { W = 940, H = 360 };
    static const line_style train = {"#1f66b4", NULL, 2.5};
    static const line_style test = {"#e8710a", "7 4", 2.5};
    const legend_entry legend[2] = {{"train", train}, {"test", test}};
    int n = run->epochs_done, chars;
    double *v = malloc(sizeof *v * 4 * (size_t)n), lo = 100, hi = 0, width;
    double *train_loss, *test_loss, *train_acc, *test_acc; /* (n) each */
    box left = {70, 40, 370, 260}, right = {560, 40, 370, 260};
    axis ax = epoch_axis(run->config->epochs), ay;
    if (!v)
        return 0;
    train_loss = v;
    test_loss = v + n;
    train_acc = v + 2 * n;
    test_acc = v + 3 * n;
    for (int e = 0; e < run->first_epoch; e++) /* unknown: drawn as gaps */
        train_loss[e] = test_loss[e] = train_acc[e] = test_acc[e] = NAN;
    for (int e = run->first_epoch; e < n; e++) {
        train_loss[e] = run->epochs[e].train.train_loss;
        test_loss[e] = run->epochs[e].test_loss;
        train_acc[e] = 100 * run->epochs[e].train.train_accuracy;
        test_acc[e] = 100 * run->epochs[e].test_accuracy;
        hi = fmax(hi, fmax(train_loss[e], test_loss[e]));
        lo = fmin(lo, fmin(train_acc[e], test_acc[e]));
    }
    width = legend_column_width(legend, 2, &chars);
    svg_begin(f, W, H);
    ay = nice_axis(0, hi, 5);
    svg_axes(f, &left, &ax, &ay, "Loss (cross-entropy)", "epoch");
    svg_series(f, &left, &ax, &ay, train_loss, n, &train, 3.5);
    svg_series(f, &left, &ax, &ay, test_loss, n, &test, 3.5);
    /* losses fall: the top right stays clear */
    svg_legend(f, left.x + left.w - width - 8, left.y + 10, legend, 2, 1,
               width, chars);
    ay = accuracy_axis(lo);
    svg_axes(f, &right, &ax, &ay, "Accuracy (%)", "epoch");
    svg_series(f, &right, &ax, &ay, train_acc, n, &train, 3.5);
    svg_series(f, &right, &ax, &ay, test_acc, n, &test, 3.5);
    /* accuracies rise: the bottom right is clear */
    svg_legend(f, right.x + right.w - width - 8,
               right.y + right.h - 2 * LEGEND_ROW - 20, legend, 2, 1, width,
               chars);
    fprintf(f, "</svg>\n");
    free(v);
    return 1;
}

/* ------------------------------------------------------------ comparison */

/* Ten colours, then the same with dashes, then dotted. */
static const char *const run_colours[10] = {
    "#1f66b4", "#e8710a", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const char *const run_dashes[3] = {NULL, "8 4", "2 3"};

/* Run i's line: its colour and dashes, thicker for the best run. */
static line_style run_style(int i, int best)
{
    line_style s = {run_colours[i % 10], run_dashes[i / 10 % 3], best ? 3.5 : 2};
    return s;
}

void report_write_swatch(FILE *f, int i)
{
    line_style s = run_style(i, 0);
    fprintf(f, "<svg width='36' height='12' viewBox='0 0 36 12'>"
               "<line x1='2' y1='6' x2='34' y2='6' ");
    svg_stroke(f, &s);
    fprintf(f, "/></svg>");
}

/* The range of the comparison's values: highest loss, lowest accuracy. */
static void compare_range(const compare_curves *runs, int n, double *loss_hi,
                          double *acc_lo)
{
    *loss_hi = 0;
    *acc_lo = 100;
    for (int r = 0; r < n; r++)
        for (int e = 0; e < runs[r].count; e++) {
            if (!isnan(runs[r].train_loss[e]))
                *loss_hi = fmax(*loss_hi, fmax(runs[r].train_loss[e],
                                               runs[r].test_loss[e]));
            if (!isnan(runs[r].train_acc[e]))
                *acc_lo = fmin(*acc_lo, fmin(runs[r].train_acc[e],
                                             runs[r].test_acc[e]));
        }
}

int report_write_compare_curves(FILE *f, const compare_curves *runs, int n,
                                int epochs, double loss_cap)
{
    enum { W = 940, LEGEND_Y = 605 };
    static const char *const titles[4] = {
        "Test loss (cross-entropy)", "Test accuracy (%)",
        "Training loss (cross-entropy)", "Training accuracy (%)"};
    const box panels[4] = {{70, 40, 370, 210}, {560, 40, 370, 210},
                           {70, 330, 370, 210}, {560, 330, 370, 210}};
    legend_entry *legend = malloc(sizeof *legend * (size_t)(n > 0 ? n : 1));
    axis ax = epoch_axis(epochs), loss, accuracy;
    double loss_hi, acc_lo, width;
    int columns, rows, chars, clipped;
    if (!legend)
        return 0;
    compare_range(runs, n, &loss_hi, &acc_lo);
    clipped = loss_cap > 0 && loss_hi > loss_cap;
    loss = nice_axis(0, clipped ? loss_cap : loss_hi, 5);
    accuracy = accuracy_axis(acc_lo);
    for (int r = 0; r < n; r++)
        legend[r] = (legend_entry){runs[r].label, run_style(runs[r].colour, runs[r].best)};
    width = legend_column_width(legend, n, &chars);
    columns = (int)((W - 40) / width);
    columns = columns < 1 ? 1 : columns > 4 ? 4 : columns;
    width = columns > 1 ? (W - 40) / columns : width;
    rows = (n + columns - 1) / columns;
    svg_begin(f, W, LEGEND_Y + rows * LEGEND_ROW + 40);
    for (int p = 0; p < 4; p++) {
        const axis *ay = p % 2 ? &accuracy : &loss;
        svg_axes(f, &panels[p], &ax, ay, titles[p], "epoch");
        for (int pass = 0; pass < 2; pass++) /* the best run on top */
            for (int r = 0; r < n; r++) {
                const double *values[4] = {runs[r].test_loss, runs[r].test_acc,
                                           runs[r].train_loss, runs[r].train_acc};
                if (runs[r].best == pass)
                    svg_series(f, &panels[p], &ax, ay, values[p], runs[r].count,
                               &legend[r].style, epochs <= 30 ? 2.5 : 0);
            }
    }
    if (clipped)
        fprintf(f, "<text x='70' y='%d' class='note'>Losses above %g are drawn "
                   "on the top edge.</text>\n", LEGEND_Y - 8, loss.hi);
    if (n > 0)
        svg_legend(f, 20, LEGEND_Y, legend, n, columns, width, chars);
    else
        fprintf(f, "<text x='70' y='%d' class='note'>No run has finished an "
                   "epoch yet.</text>\n", LEGEND_Y + 14);
    fprintf(f, "</svg>\n");
    free(legend);
    return 1;
}

int report_write_confusion(FILE *f, const report_run *run)
{
    int k = run->test->classes;
    int cell = k <= 10 ? 46 : k <= 20 ? 30 : 16;
    int left = 150, top = 150, size = cell * k;
    int width = left + size + 30, height = top + size + 60;
    svg_begin(f, width, height);
    fprintf(f, "<text x='%d' y='24' class='title'>Confusion matrix "
               "(test set)</text>\n"
               "<text x='%d' y='%d' text-anchor='middle' font-weight='bold'>"
               "predicted class</text>\n"
               "<text transform='translate(22 %d) rotate(-90)' "
               "text-anchor='middle' font-weight='bold'>true class</text>\n",
            10, left + size / 2, 50, top + size / 2);
    for (int i = 0; i < k; i++) {
        long row = 0;
        for (int j = 0; j < k; j++)
            row += run->confusion[i * k + j];
        for (int j = 0; j < k; j++) {
            long count = run->confusion[i * k + j];
            double t = row > 0 ? sqrt((double)count / row) : 0;
            int x = left + j * cell, y = top + i * cell;
            fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' "
                       "fill='rgb(%d,%d,%d)' stroke='#fff'/>\n",
                    x, y, cell, cell, (int)(255 - t * (255 - 8)),
                    (int)(255 - t * (255 - 48)), (int)(255 - t * (255 - 107)));
            if (cell >= 20)
                fprintf(f, "<text x='%d' y='%d' text-anchor='middle' "
                           "font-size='%d' fill='%s'>%ld</text>\n",
                        x + cell / 2, y + cell / 2 + cell / 8, cell / 4 + 1,
                        t > 0.55 ? "#fff" : "#111", count);
        }
        fprintf(f, "<text x='%d' y='%d' text-anchor='end'>", left - 8,
                top + i * cell + cell / 2 + 4);
        report_xml_text(f, run->class_names[i]);
        fprintf(f, "</text>\n<text transform='translate(%d %d) rotate(-45)'>",
                left + i * cell + cell / 2 + 4, top - 8);
        report_xml_text(f, run->class_names[i]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "<text x='%d' y='%d' font-size='12' fill='#555'>Shade: share "
               "of the row's images (square-root scale).</text>\n</svg>\n",
            left, top + size + 30);
    return 1;
}
