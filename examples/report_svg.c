/* The report's SVG pictures, curves.svg and confusion.svg, written as text
 * from a few plot primitives: axes with ticks, a series, a legend. */
#include "report_internal.h"

#include <math.h>
#include <stdlib.h>

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

static double map_y(const box *b, const axis *a, double v)
{
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

/* One series as a line with a marker on every point. */
static void svg_series(FILE *f, const box *b, const axis *ax, const axis *ay,
                       const double *values, int n, const char *cls)
{
    int first = 0;
    while (first < n && isnan(values[first]))
        first++; /* epochs before a resumed run's start are not known */
    fprintf(f, "<polyline class='%s' points='", cls);
    for (int i = first; i < n; i++)
        fprintf(f, "%s%.1f,%.1f", i > first ? " " : "", map_x(b, ax, i + 1),
                map_y(b, ay, values[i]));
    fprintf(f, "'/>\n");
    for (int i = first; i < n; i++)
        fprintf(f, "<circle class='%s' cx='%.1f' cy='%.1f' r='3.5'/>\n", cls,
                map_x(b, ax, i + 1), map_y(b, ay, values[i]));
}

/* The legend in a plot's top (or bottom) right corner. */
static void svg_legend(FILE *f, const box *b, int bottom)
{
    static const char *const names[2] = {"train", "test"};
    double x = b->x + b->w - 92, y = bottom ? b->y + b->h - 56 : b->y + 10;
    fprintf(f, "<rect x='%.1f' y='%.1f' width='84' height='46' class='legend'/>\n",
            x, y);
    for (int i = 0; i < 2; i++) {
        double ly = y + 15 + 18 * i;
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='%s'/>"
                   "<circle cx='%.1f' cy='%.1f' r='3.5' class='%s'/>"
                   "<text x='%.1f' y='%.1f'>%s</text>\n",
                x + 8, ly, x + 36, ly, names[i], x + 22, ly, names[i], x + 44,
                ly + 4, names[i]);
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
               "polyline { fill: none; stroke-width: 2.5; }\n"
               "line.train, polyline.train { stroke: #1f66b4; stroke-width: 2.5; }\n"
               "line.test, polyline.test { stroke: #e8710a; stroke-width: 2.5; "
               "stroke-dasharray: 7 4; }\n"
               "circle.train { fill: #1f66b4; }\ncircle.test { fill: #e8710a; }\n"
               "</style>\n<rect width='100%%' height='100%%' fill='white'/>\n",
            width, height, width, height);
}

int report_write_curves(FILE *f, const report_run *run)
{
    enum { W = 940, H = 360 };
    int n = run->epochs_done;
    double *v = malloc(sizeof *v * 4 * (size_t)n), lo = 100, hi = 0;
    double *train_loss, *test_loss, *train_acc, *test_acc; /* (n) each */
    box left = {70, 40, 370, 260}, right = {560, 40, 370, 260};
    axis ax = nice_axis(0, run->config->epochs, 8), ay;
    if (!v)
        return 0;
    train_loss = v;
    test_loss = v + n;
    train_acc = v + 2 * n;
    test_acc = v + 3 * n;
    if (ax.step < 1)
        ax.step = 1;
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
    svg_begin(f, W, H);
    ay = nice_axis(0, hi, 5);
    svg_axes(f, &left, &ax, &ay, "Loss (cross-entropy)", "epoch");
    svg_series(f, &left, &ax, &ay, train_loss, n, "train");
    svg_series(f, &left, &ax, &ay, test_loss, n, "test");
    svg_legend(f, &left, 0); /* losses fall: the top right stays clear */
    ay = nice_axis(fmax(0, fmin(90, lo - 0.1 * (100 - lo))), 100, 5);
    svg_axes(f, &right, &ax, &ay, "Accuracy (%)", "epoch");
    svg_series(f, &right, &ax, &ay, train_acc, n, "train");
    svg_series(f, &right, &ax, &ay, test_acc, n, "test");
    svg_legend(f, &right, 1); /* accuracies rise: the bottom right is clear */
    fprintf(f, "</svg>\n");
    free(v);
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
