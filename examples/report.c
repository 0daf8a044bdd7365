/* The JSON metrics and the HTML report of a training run: see report.h.
 *
 * The report is a directory of plain files that a browser opens offline:
 * hand-written HTML and SVG (escaped text, no scripts, no external
 * resources) and PNG pictures drawn on a small RGB canvas, with a built-in
 * 5x7 bitmap font for the labels, and saved by libnn's nn_png_write. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_SIZE 4096
#define MAX_FILTERS 128      /* filters drawn at most */
#define MAX_MISCLASSIFIED 40 /* misclassified test images drawn at most */
#define MISCLASSIFIED_COLS 10
#define REFRESH_SECONDS 10   /* index.html reloads itself while training */

/* ---------------------------------------------------------------- files */

/* path = dir/name; 0 when it does not fit. */
static int join_path(char *path, const char *dir, const char *name)
{
    int n = snprintf(path, PATH_SIZE, "%s/%s", dir, name);
    return n > 0 && n < PATH_SIZE;
}

/* A text file written as path.tmp and renamed over path once complete, so
 * that a browser reloading the report never sees half a file. */
typedef struct {
    FILE *f;
    char path[PATH_SIZE], tmp[PATH_SIZE + 8];
} text_file;

static int text_open(text_file *t, const char *dir, const char *name)
{
    if (!join_path(t->path, dir, name))
        return 0;
    snprintf(t->tmp, sizeof t->tmp, "%s.tmp", t->path);
    t->f = fopen(t->tmp, "w");
    return t->f != NULL;
}

/* Closes and renames; ok = 0 (a failed write) just removes the temporary. */
static int text_commit(text_file *t, int ok)
{
    ok = !ferror(t->f) && ok;
    ok = fclose(t->f) == 0 && ok;
    if (ok && rename(t->tmp, t->path) != 0)
        ok = 0;
    if (!ok)
        remove(t->tmp);
    return ok;
}

/* ----------------------------------------------------------------- JSON */

/* Strings in JSON need quotes and backslashes escaped. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

int report_write_json(FILE *f, const report_run *run)
{
    const report_epoch *ep = run->epochs, *last = &ep[run->epochs_done - 1];
    int classes = run->test->classes, n = run->epochs_done;
    char spec[4096];
    if (nn_net_spec(run->net, spec, sizeof spec) != NN_OK)
        spec[0] = '\0';
    fprintf(f, "{\n  \"model\": ");
    json_string(f, spec);
    fprintf(f, ",\n  \"parameters\": %zu,\n  \"batch\": %d,\n  \"seed\": %llu,\n",
            nn_net_param_count(run->net), run->config->batch,
            (unsigned long long)run->config->seed);
    fprintf(f, "  \"test_accuracy\": %.6f,\n  \"test_loss\": %.6f,\n",
            last->test_accuracy, last->test_loss);
    fprintf(f, "  \"epochs\": [\n");
    for (int e = run->first_epoch; e < n; e++)
        fprintf(f,
                "    {\"epoch\": %d, \"lr\": %.6g, \"train_loss\": %.6f, "
                "\"train_accuracy\": %.6f, \"test_loss\": %.6f, "
                "\"test_accuracy\": %.6f, \"seconds\": %.3f, "
                "\"images_per_second\": %.1f}%s\n",
                e + 1, ep[e].train.lr, ep[e].train.train_loss,
                ep[e].train.train_accuracy, ep[e].test_loss,
                ep[e].test_accuracy, ep[e].train.seconds,
                ep[e].train.images_per_second, e + 1 < n ? "," : "");
    fprintf(f, "  ],\n  \"confusion\": [");
    for (int i = 0; i < classes; i++) {
        fprintf(f, "%s[", i ? ", " : "");
        for (int j = 0; j < classes; j++)
            fprintf(f, "%s%ld", j ? ", " : "", run->confusion[i * classes + j]);
        fprintf(f, "]");
    }
    fprintf(f, "],\n  \"classes\": [");
    for (int k = 0; k < classes; k++)
        fprintf(f, "%s{\"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f}",
                k ? ", " : "", run->precision[k], run->recall[k], run->f1[k]);
    fprintf(f, "]\n}\n");
    return !ferror(f);
}

/* ------------------------------------------------------- text and plots */

/* Text for HTML and SVG: &, <, >, " and ' escaped; control bytes dropped. */
static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((unsigned char)*s >= 0x20)
                fputc(*s, f);
        }
    }
}

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
    xml_text(f, title);
    fprintf(f, "</text>\n<text x='%.1f' y='%.1f' text-anchor='middle'>",
            b->x + b->w / 2, b->y + b->h + 38);
    xml_text(f, x_title);
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

/* curves.svg: loss and accuracy of the training and test sets per epoch,
 * the epoch axis spanning the whole planned run. */
static int write_curves(FILE *f, const report_run *run)
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

/* confusion.svg: counts in cells shaded by their share of the true class's
 * images (square-root scale, so that small confusions show). */
static int write_confusion(FILE *f, const report_run *run)
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
        xml_text(f, run->class_names[i]);
        fprintf(f, "</text>\n<text transform='translate(%d %d) rotate(-45)'>",
                left + i * cell + cell / 2 + 4, top - 8);
        xml_text(f, run->class_names[i]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "<text x='%d' y='%d' font-size='12' fill='#555'>Shade: share "
               "of the row's images (square-root scale).</text>\n</svg>\n",
            left, top + size + 30);
    return 1;
}

/* -------------------------------------------------------------- canvas */

/* An RGB picture (h, w, 3) being drawn. */
typedef struct {
    uint8_t *px;
    int w, h;
} canvas;

static int canvas_create(canvas *cv, int w, int h, const uint8_t rgb[3])
{
    cv->w = w;
    cv->h = h;
    cv->px = malloc((size_t)w * (size_t)h * 3);
    if (!cv->px)
        return 0;
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        memcpy(cv->px + 3 * i, rgb, 3);
    return 1;
}

/* A w x h rectangle at (x, y), clipped to the canvas. */
static void canvas_fill(canvas *cv, int x, int y, int w, int h,
                        const uint8_t rgb[3])
{
    for (int r = y < 0 ? 0 : y; r < y + h && r < cv->h; r++)
        for (int c = x < 0 ? 0 : x; c < x + w && c < cv->w; c++)
            memcpy(cv->px + 3 * ((size_t)r * cv->w + c), rgb, 3);
}

/* An image of bytes (channels, h, w), gray (1 channel) or RGB (3; other
 * counts show the first channel), drawn scale times larger at (x, y). */
static void canvas_image(canvas *cv, int x, int y, const uint8_t *planes,
                         int channels, int h, int w, int scale)
{
    size_t plane = (size_t)h * w;
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            const uint8_t *p = planes + (size_t)r * w + c;
            uint8_t rgb[3] = {p[0], p[0], p[0]};
            if (channels == 3) {
                rgb[1] = p[plane];
                rgb[2] = p[2 * plane];
            }
            canvas_fill(cv, x + c * scale, y + r * scale, scale, scale, rgb);
        }
}

/* A 5x7 bitmap font: digits and '>', one byte per row, bit 4 leftmost. */
static const uint8_t *glyph(char ch)
{
    static const uint8_t digits[10][7] = {
        {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, /* 0 */
        {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* 1 */
        {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, /* 2 */
        {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}, /* 3 */
        {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, /* 4 */
        {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}, /* 5 */
        {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, /* 6 */
        {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7 */
        {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, /* 8 */
        {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}, /* 9 */
    };
    static const uint8_t greater[7] = {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08};
    if (ch >= '0' && ch <= '9')
        return digits[ch - '0'];
    return ch == '>' ? greater : NULL;
}

/* Width in pixels of text drawn at scale (6 columns per character). */
static int text_width(const char *text, int scale)
{
    return (int)strlen(text) * 6 * scale - scale;
}

/* Draws text with its top left corner at (x, y); returns the x after it.
 * Characters without a glyph leave a blank. */
static int canvas_text(canvas *cv, int x, int y, const char *text, int scale,
                       const uint8_t rgb[3])
{
    for (; *text; text++, x += 6 * scale) {
        const uint8_t *g = glyph(*text);
        for (int r = 0; g && r < 7; r++)
            for (int c = 0; c < 5; c++)
                if (g[r] >> (4 - c) & 1)
                    canvas_fill(cv, x + c * scale, y + r * scale, scale, scale,
                                rgb);
    }
    return x;
}

/* Saves the canvas as dir/name; frees it. */
static int canvas_save(canvas *cv, const char *dir, const char *name,
                       char *msg, size_t msg_size)
{
    char path[PATH_SIZE];
    nn_status st = NN_EOVERFLOW;
    if (join_path(path, dir, name))
        st = nn_png_write(path, cv->px, cv->w, cv->h, 3, msg, msg_size);
    else
        snprintf(msg, msg_size, "%s/%s: path too long", dir, name);
    free(cv->px);
    cv->px = NULL;
    return st == NN_OK;
}

/* ------------------------------------------------------------- filters */

/* The weights filters.png shows: the first conv2d layer's filters, or
 * without one the first dense layer's rows, each an image of (c, h, w). */
typedef struct {
    int layer, count, c, h, w;
    const char *kind;
    const float *weights; /* (count, c, h, w) */
} filter_set;

/* Kernel size of layer i, read from its token in the net's spec. */
static int conv_kernel(nn_net *net, int i, int *kh, int *kw)
{
    char spec[4096];
    const char *token = spec;
    if (nn_net_spec(net, spec, sizeof spec) != NN_OK)
        return 0;
    for (; i > 0 && token; i--)
        if ((token = strchr(token, ',')) != NULL)
            token++;
    return token && sscanf(token, "conv%dx%d", kh, kw) == 2;
}

/* Finds the layer of `kind` whose filters are shown; 0 when there is none. */
static int find_filters(nn_net *net, const char *kind, filter_set *fs)
{
    int c, h, w; /* input shape of layer i */
    nn_net_input_shape(net, &c, &h, &w);
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        float *values, *grads;
        size_t count;
        if (nn_net_layer_info(net, i, &info) != NN_OK)
            return 0;
        if (!strcmp(info.kind, kind) &&
            nn_net_layer_params(net, i, &values, &grads, &count) == NN_OK) {
            fs->layer = i;
            fs->kind = kind;
            fs->count = info.out_c;
            fs->weights = values;
            fs->c = c;
            fs->h = h;
            fs->w = w;
            return strcmp(kind, "conv2d") || conv_kernel(net, i, &fs->h, &fs->w);
        }
        c = info.out_c;
        h = info.out_h;
        w = info.out_w;
    }
    return 0;
}

/* One filter as bytes, scaled from its own min..max to 0..255. */
static void filter_bytes(const float *wt, size_t n, uint8_t *out)
{
    float lo = wt[0], hi = wt[0];
    for (size_t i = 1; i < n; i++) {
        lo = wt[i] < lo ? wt[i] : lo;
        hi = wt[i] > hi ? wt[i] : hi;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(hi > lo ? 255.0f * (wt[i] - lo) / (hi - lo) + 0.5f : 128);
}

/* Grid geometry shared by filters.png and the HTML caption. */
typedef struct {
    int shown, cols, scale, gap;
} filter_grid;

static filter_grid filter_layout(const filter_set *fs)
{
    filter_grid g;
    int side = fs->h > fs->w ? fs->h : fs->w;
    g.shown = fs->count < MAX_FILTERS ? fs->count : MAX_FILTERS;
    g.scale = side >= 56 ? 1 : (56 + side - 1) / side; /* 5x5 at 12x, 28x28 at 2x */
    g.gap = 6;
    g.cols = g.shown <= 8 ? g.shown : (int)ceil(sqrt(g.shown));
    if (g.shown > 8 && g.cols < 8)
        g.cols = 8; /* 16 filters in two rows, 32 in four */
    return g;
}

/* filters.png: the filters in a grid on a blue-grey background. */
static int write_filters(const char *dir, const filter_set *fs, char *msg,
                         size_t msg_size)
{
    static const uint8_t background[3] = {70, 100, 140};
    filter_grid g = filter_layout(fs);
    size_t n = (size_t)fs->c * fs->h * fs->w;
    int pitch_x = fs->w * g.scale + g.gap, pitch_y = fs->h * g.scale + g.gap;
    int rows = (g.shown + g.cols - 1) / g.cols;
    uint8_t *bytes = malloc(n);
    canvas cv;
    if (!bytes || !canvas_create(&cv, g.cols * pitch_x + g.gap,
                                 rows * pitch_y + g.gap, background)) {
        free(bytes);
        snprintf(msg, msg_size, "out of memory for filters.png");
        return 0;
    }
    for (int i = 0; i < g.shown; i++) {
        filter_bytes(fs->weights + i * n, n, bytes);
        canvas_image(&cv, g.gap + i % g.cols * pitch_x,
                     g.gap + i / g.cols * pitch_y, bytes, fs->c, fs->h, fs->w,
                     g.scale);
    }
    free(bytes);
    return canvas_save(&cv, dir, "filters.png", msg, msg_size);
}

/* -------------------------------------------------------- misclassified */

/* Up to MAX_MISCLASSIFIED test images the net got wrong, in test order;
 * returns how many, indices in which. */
static int find_misclassified(const report_run *run, int *which)
{
    int n = 0;
    for (int i = 0; i < run->test->count && n < MAX_MISCLASSIFIED; i++)
        if (run->predicted[i] != run->test->labels[i])
            which[n++] = i;
    return n;
}

/* misclassified.png: each image enlarged three times over its label
 * "true>predicted" (class numbers; true in green, predicted in red). */
static int write_misclassified(const char *dir, const report_run *run,
                               const int *which, int n, char *msg,
                               size_t msg_size)
{
    static const uint8_t white[3] = {255, 255, 255}, green[3] = {0, 120, 40},
                         grey[3] = {90, 90, 90}, red[3] = {200, 0, 0},
                         frame[3] = {190, 190, 190};
    const nn_dataset *d = run->test;
    int scale = 3, font = 2, pad = 8;
    int cell_w = d->w * scale + 2 * pad, cell_h = d->h * scale + 7 * font + 3 * pad;
    int cols = n < MISCLASSIFIED_COLS ? (n > 0 ? n : 1) : MISCLASSIFIED_COLS;
    int rows = n > 0 ? (n + cols - 1) / cols : 1;
    size_t image = (size_t)d->c * d->h * d->w;
    canvas cv;
    if (!canvas_create(&cv, cols * cell_w, rows * cell_h, white)) {
        snprintf(msg, msg_size, "out of memory for misclassified.png");
        return 0;
    }
    for (int i = 0; i < n; i++) {
        char truth[16], guess[16], label[40];
        int x = i % cols * cell_w, y = i / cols * cell_h, tx;
        int ty = y + 2 * pad + d->h * scale;
        snprintf(truth, sizeof truth, "%d", d->labels[which[i]]);
        snprintf(guess, sizeof guess, "%d", run->predicted[which[i]]);
        snprintf(label, sizeof label, "%s>%s", truth, guess);
        canvas_fill(&cv, x + pad - 1, y + pad - 1, d->w * scale + 2,
                    d->h * scale + 2, frame);
        canvas_image(&cv, x + pad, y + pad, d->pixels + which[i] * image, d->c,
                     d->h, d->w, scale);
        tx = x + (cell_w - text_width(label, font)) / 2;
        tx = canvas_text(&cv, tx, ty, truth, font, green);
        tx = canvas_text(&cv, tx, ty, ">", font, grey);
        canvas_text(&cv, tx, ty, guess, font, red);
    }
    return canvas_save(&cv, dir, "misclassified.png", msg, msg_size);
}

/* ---------------------------------------------------------------- HTML */

static const char *schedule_name(nn_schedule_kind k)
{
    static const char *const names[] = {"constant", "step", "exponential",
                                        "cosine"};
    return (unsigned)k < 4 ? names[k] : "?";
}

/* The head, with a refresh while epochs remain, and the style sheet. */
static void html_head(FILE *f, const report_run *run)
{
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    if (run->epochs_done < run->config->epochs)
        fprintf(f, "<meta http-equiv=\"refresh\" content=\"%d\">\n",
                REFRESH_SECONDS);
    fprintf(f, "<title>libnn training report</title>\n<style>\n"
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
               "</style>\n</head>\n<body>\n<h1>libnn training report</h1>\n");
}

/* Training or finished. */
static void html_status(FILE *f, const report_run *run)
{
    int epochs = run->config->epochs;
    if (run->epochs_done < epochs)
        fprintf(f, "<p class=\"status training\">Training: epoch %d of %d done."
                   " This page reloads every %d s.</p>\n",
                run->epochs_done, epochs, REFRESH_SECONDS);
    else
        fprintf(f, "<p class=\"status\">Finished: %d epoch%s.</p>\n", epochs,
                epochs == 1 ? "" : "s");
}

/* The optimizer and augmentation rows of the settings table. */
static void html_training_settings(FILE *f, const nn_train_config *c)
{
    if (c->optimizer == NN_OPTIMIZER_ADAM)
        fprintf(f, "<tr><th>optimizer</th><td>Adam, betas %g, %g, eps %g, "
                   "weight decay %g</td></tr>\n",
                c->adam.beta1, c->adam.beta2, c->adam.eps, c->adam.weight_decay);
    else
        fprintf(f, "<tr><th>optimizer</th><td>SGD, momentum %g%s%s, weight "
                   "decay %g</td></tr>\n",
                c->sgd.momentum, c->sgd.nesterov ? " (Nesterov)" : "",
                c->sgd.kind == NN_MOMENTUM_EMA ? " (EMA)" : "",
                c->sgd.weight_decay);
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
    xml_text(f, spec);
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
    double seconds = 0;
    for (int e = run->first_epoch; e < run->epochs_done; e++)
        seconds += run->epochs[e].train.seconds;
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
            last->train.lr, seconds, last->train.images_per_second);
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
        xml_text(f, run->class_names[i]);
        fprintf(f, "</td><td class=\"num\">%ld</td><td class=\"num\">%.4f</td>"
                   "<td class=\"num\">%.4f</td><td class=\"num\">%.4f</td></tr>\n",
                support, run->precision[i], run->recall[i], run->f1[i]);
    }
    fprintf(f, "</table>\n");
}

/* The layer table: output shapes and parameter counts. */
static void html_layers(FILE *f, nn_net *net)
{
    int c, h, w;
    size_t total = 0;
    nn_net_input_shape(net, &c, &h, &w);
    fprintf(f, "<h2>Layers</h2>\n<table>\n<tr><th>#</th><th>layer</th>"
               "<th>output (c, h, w)</th><th>parameters</th></tr>\n"
               "<tr><td>-</td><td>input</td><td class=\"num\">%d, %d, %d</td>"
               "<td class=\"num\">0</td></tr>\n", c, h, w);
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        if (nn_net_layer_info(net, i, &info) != NN_OK)
            continue;
        fprintf(f, "<tr><td class=\"num\">%d</td><td>", i);
        xml_text(f, info.kind);
        fprintf(f, "</td><td class=\"num\">%d, %d, %d</td><td class=\"num\">%zu"
                   "</td></tr>\n", info.out_c, info.out_h, info.out_w,
                info.params);
        total += info.params;
    }
    fprintf(f, "<tr><th></th><th>total</th><th></th><td class=\"num\"><b>%zu</b>"
               "</td></tr>\n</table>\n", total);
}

/* The filter picture and what it shows. */
static void html_filters(FILE *f, const filter_set *fs)
{
    filter_grid g = filter_layout(fs);
    fprintf(f, "<h2>Learned filters</h2>\n");
    if (!fs->weights) {
        fprintf(f, "<p>The model has no convolution or dense layer.</p>\n");
        return;
    }
    fprintf(f, "<p><img class=\"pixels\" src=\"filters.png\" alt=\"filters\"></p>\n"
               "<p class=\"key\">Layer %d (%s): %d of its %d %s of %dx%dx%d, "
               "drawn %dx larger, in rows of %d; each is scaled from its own "
               "minimum (black) to maximum (white).</p>\n",
            fs->layer, fs->kind, g.shown, fs->count,
            strcmp(fs->kind, "conv2d") ? "units' weights" : "filters", fs->c,
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
        xml_text(f, run->class_names[k]);
        fprintf(f, "</td>");
    }
    fprintf(f, "</tr>\n</table>\n<p><img class=\"pixels\" src=\"misclassified.png\" "
               "alt=\"misclassified test images\"></p>\n"
               "<details><summary>The same images in words</summary>\n<ol>\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "<li>test image %d: ", which[i]);
        xml_text(f, run->class_names[run->test->labels[which[i]]]);
        fprintf(f, " &#8594; ");
        xml_text(f, run->class_names[run->predicted[which[i]]]);
        fprintf(f, "</li>\n");
    }
    fprintf(f, "</ol>\n</details>\n");
}

static int write_index(FILE *f, const report_run *run, const filter_set *fs,
                       const int *which, int n)
{
    html_head(f, run);
    html_status(f, run);
    html_settings(f, run);
    html_metrics(f, run);
    html_epochs(f, run);
    html_classes(f, run);
    html_layers(f, run->net);
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

static int text_curves(FILE *f, const report_view *v)
{
    return write_curves(f, v->run);
}

static int text_confusion(FILE *f, const report_view *v)
{
    return write_confusion(f, v->run);
}

static int text_metrics(FILE *f, const report_view *v)
{
    return report_write_json(f, v->run);
}

static int text_index(FILE *f, const report_view *v)
{
    return write_index(f, v->run, &v->filters, v->which, v->misclassified);
}

/* The text files in the order they are written: index.html last, once
 * everything it refers to exists. */
static const struct {
    const char *name;
    int (*write)(FILE *f, const report_view *v);
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
    v.misclassified = find_misclassified(run, v.which);
    if (!find_filters(run->net, "conv2d", &v.filters) &&
        !find_filters(run->net, "dense", &v.filters))
        v.filters.weights = NULL;
    if (v.filters.weights && !write_filters(dir, &v.filters, msg, msg_size))
        return 0;
    if (!write_misclassified(dir, run, v.which, v.misclassified, msg, msg_size))
        return 0;
    for (size_t i = 0; i < sizeof text_files / sizeof *text_files; i++) {
        text_file t;
        if (!text_open(&t, dir, text_files[i].name) ||
            !text_commit(&t, text_files[i].write(t.f, &v))) {
            snprintf(msg, msg_size, "cannot write %s/%s (%s)", dir,
                     text_files[i].name, strerror(errno));
            return 0;
        }
    }
    return 1;
}
