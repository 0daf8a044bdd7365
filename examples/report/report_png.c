/* The report's PNG pictures, filters.png and misclassified.png: drawn on a
 * small RGB canvas, with a built-in 5x7 bitmap font for the labels, and
 * saved by libnn's nn_png_write. */
#include "report_internal.h"
#include "nn/advanced.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILTERS 128 /* filters drawn at most */

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
    if (report_join_path(path, dir, name))
        st = nn_png_write(path, cv->px, cv->w, cv->h, 3, msg, msg_size);
    else
        snprintf(msg, msg_size, "%s/%s: path too long", dir, name);
    free(cv->px);
    cv->px = NULL;
    return st == NN_OK;
}

/* ------------------------------------------------------------- filters */

int report_find_filters(nn_net *net, int rank, filter_set *fs)
{
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_field fields[NN_MAX_FIELDS];
        nn_layer_info info;
        float *values, *grads;
        size_t count;
        int n = 0;
        if (nn_net_layer_info(net, i, &info) != NN_OK ||
            nn_net_layer_fields(net, i, fields, &n) != NN_OK ||
            nn_net_layer_params(net, i, &values, &grads, &count) != NN_OK)
            return 0;
        if (n == 0 || strcmp(fields[0].name, "weight") || fields[0].rank != rank)
            continue;
        fs->layer = i;
        fs->kind = info.kind;
        fs->convolution = rank == 4;
        fs->count = fields[0].dims[0];
        fs->weights = values + fields[0].offset;
        fs->c = rank == 4 ? fields[0].dims[1] : info.in_c;
        fs->h = rank == 4 ? fields[0].dims[2] : info.in_h;
        fs->w = rank == 4 ? fields[0].dims[3] : info.in_w;
        return 1;
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

filter_grid report_filter_layout(const filter_set *fs)
{
    filter_grid g;
    int side = fs->h > fs->w ? fs->h : fs->w;
    g.shown = fs->count < MAX_FILTERS ? fs->count : MAX_FILTERS;
    g.scale = side >= 56 ? 1 : (56 + side - 1) / side; /* 5x5 at 12x, 28x28 at 2x */
    g.gap = 6;
    g.font = 2;
    g.label = 7 * g.font + 6; /* the number, 3 px above and below it */
    g.cols = g.shown <= 8 ? g.shown : (int)ceil(sqrt(g.shown));
    if (g.shown > 8 && g.cols < 8)
        g.cols = 8; /* 16 filters in two rows, 32 in four */
    return g;
}

int report_write_filters(const char *dir, const filter_set *fs, char *msg,
                         size_t msg_size)
{
    static const uint8_t background[3] = {70, 100, 140}, ink[3] = {255, 255, 255};
    filter_grid g = report_filter_layout(fs);
    size_t n = (size_t)fs->c * fs->h * fs->w;
    int tile_w = fs->w * g.scale, tile_h = fs->h * g.scale;
    int pitch_x = tile_w + g.gap, pitch_y = tile_h + g.label + g.gap;
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
        int x = g.gap + i % g.cols * pitch_x, y = g.gap + i / g.cols * pitch_y;
        char number[16];
        snprintf(number, sizeof number, "%d", i);
        filter_bytes(fs->weights + i * n, n, bytes);
        canvas_image(&cv, x, y, bytes, fs->c, fs->h, fs->w, g.scale);
        canvas_text(&cv, x + (tile_w - text_width(number, g.font)) / 2,
                    y + tile_h + 3, number, g.font, ink);
    }
    free(bytes);
    return canvas_save(&cv, dir, "filters.png", msg, msg_size);
}

/* -------------------------------------------------------- misclassified */

int report_find_misclassified(const report_run *run, int *which)
{
    int n = 0;
    for (int i = 0; i < run->test->count && n < MAX_MISCLASSIFIED; i++)
        if (run->predicted[i] != run->test->labels[i])
            which[n++] = i;
    return n;
}

int report_write_misclassified(const char *dir, const report_run *run,
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
