/* Images for predict (see predict_image.h): reading by content, and the
 * explicit conversion and resampling of --resize. */
#include "predict_image.h"
#include "nn/advanced.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_file.h"
#include "nn.h"

/* ------------------------------------------------------------- reading */

/* Reads one whitespace-separated header number of a PNM file, skipping
 * comments; -1 when there is none. */
static long pnm_number(FILE *f)
{
    int ch;
    long v = 0;
    do {
        ch = fgetc(f);
        if (ch == '#')
            while (ch != '\n' && ch != EOF)
                ch = fgetc(f);
    } while (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r');
    if (ch < '0' || ch > '9')
        return -1;
    for (; ch >= '0' && ch <= '9'; ch = fgetc(f))
        if ((v = v * 10 + (ch - '0')) > 100000)
            return -1;
    return v; /* the one whitespace byte after the number is consumed */
}

/* The rest of a binary PGM (channels 1) or PPM (3) after its magic: the
 * header, then pixels whose bytes the file must hold before any memory is
 * allocated for them. */
static int read_pnm(FILE *f, const char *path, int channels, image *img,
                    char *msg, size_t msg_size)
{
    struct stat st;
    long width, height, maxval, at;
    size_t n;
    if ((width = pnm_number(f)) < 1 || (height = pnm_number(f)) < 1 ||
        (maxval = pnm_number(f)) < 1) {
        snprintf(msg, msg_size, "%s: bad PGM/PPM header", path);
        return 0;
    }
    if (width > NN_PNG_MAX_SIDE || height > NN_PNG_MAX_SIDE) {
        snprintf(msg, msg_size, "%s: %ldx%ld pixels: more than %d on a side",
                 path, width, height, NN_PNG_MAX_SIDE);
        return 0;
    }
    if (maxval != 255) {
        snprintf(msg, msg_size, "%s: only 8-bit images (maxval 255) are read",
                 path);
        return 0;
    }
    n = (size_t)width * (size_t)height * (size_t)channels;
    if (fstat(fileno(f), &st) != 0 || (at = ftell(f)) < 0 ||
        st.st_size < at || (size_t)(st.st_size - at) < n) {
        snprintf(msg, msg_size, "%s: truncated pixel data (%ldx%ld needs %zu "
                 "bytes)", path, width, height, n);
        return 0;
    }
    if (!(img->px = malloc(n))) {
        snprintf(msg, msg_size, "%s: out of memory", path);
        return 0;
    }
    if (fread(img->px, 1, n, f) != n) {
        snprintf(msg, msg_size, "%s: truncated pixel data", path);
        image_free(img);
        return 0;
    }
    img->w = (int)width;
    img->h = (int)height;
    img->c = channels;
    return 1;
}

/* A PNG's sides from its IHDR (the 16 bytes after the signature), read
 * before anything else of it: 0 (with msg set) when the image has more
 * pixels than want_w x want_h, so that a huge image is refused before its
 * data is inflated; 1 otherwise (nn_png_read checks the rest, and a smaller
 * image is refused after it, naming its channels too). */
static int png_sides_fit(FILE *f, const char *path, int want_w, int want_h,
                         char *msg, size_t msg_size)
{
    unsigned char ihdr[16];
    unsigned long w, h;
    if (fread(ihdr, 1, sizeof ihdr, f) != sizeof ihdr ||
        memcmp(ihdr + 4, "IHDR", 4))
        return 1;
    w = (unsigned long)ihdr[8] << 24 | (unsigned long)ihdr[9] << 16 |
        (unsigned long)ihdr[10] << 8 | ihdr[11];
    h = (unsigned long)ihdr[12] << 24 | (unsigned long)ihdr[13] << 16 |
        (unsigned long)ihdr[14] << 8 | ihdr[15];
    if ((unsigned long long)w * h <= (unsigned long long)want_w * want_h)
        return 1;
    snprintf(msg, msg_size, "%s is %lux%lu; the model expects %dx%d "
             "(--resize converts it)", path, w, h, want_w, want_h);
    return 0;
}

int image_read(const char *path, int want_w, int want_h, image *img,
               char *msg, size_t msg_size)
{
    unsigned char magic[8] = {0};
    FILE *f = cli_open_regular(path, msg, msg_size);
    size_t got;
    int ok = 0;
    memset(img, 0, sizeof *img);
    if (!f)
        return 0;
    got = fread(magic, 1, sizeof magic, f);
    if (got == sizeof magic && !memcmp(magic, "\x89PNG\r\n\x1a\n", 8)) {
        ok = want_w <= 0 ||
             png_sides_fit(f, path, want_w, want_h, msg, msg_size);
        fclose(f); /* nn_png_read opens it again, regular files only */
        return ok && nn_png_read(path, &img->px, &img->w, &img->h, &img->c,
                                 msg, msg_size) == NN_OK;
    }
    if (got >= 2 && magic[0] == 'P' && (magic[1] == '5' || magic[1] == '6') &&
        fseek(f, 2, SEEK_SET) == 0)
        ok = read_pnm(f, path, magic[1] == '5' ? 1 : 3, img, msg, msg_size);
    else
        snprintf(msg, msg_size, "%s: not a PNG, binary PGM (P5) or PPM (P6) "
                 "file", path);
    fclose(f);
    return ok;
}

void image_free(image *img)
{
    free(img->px);
    img->px = NULL;
}

/* ------------------------------------------------------------- fitting */

/* "grey", "RGB" or "5-channel", for messages. */
static const char *channels_name(int c, char *buf, size_t size)
{
    if (c == 1)
        return "grey";
    if (c == 3)
        return "RGB";
    snprintf(buf, size, "%d-channel", c);
    return buf;
}

/* The sources and weights of one output coordinate along an axis. */
typedef struct {
    int first, count; /* source indices first .. first + count - 1 */
    float *weight;    /* (count), summing to 1 */
} taps;

/* Where each of out coordinates reads from among in ones, pixel centres
 * aligned: the nearest one, or a triangle filter of radius 1 source pixel
 * when enlarging and of one output pixel's footprint when shrinking (so
 * that every source pixel counts, as in PIL's bilinear resize). The
 * weights live in *store (free it); NULL when out of memory. */
static taps *axis_taps(int in, int out, resize_mode mode, float **store)
{
    double scale = (double)in / out, support = scale > 1 ? scale : 1;
    int most = mode == RESIZE_NEAREST ? 1 : (int)ceil(2 * support) + 2;
    taps *t = malloc(sizeof *t * (size_t)out);
    *store = malloc(sizeof **store * (size_t)out * (size_t)most);
    if (!t || !*store) {
        free(t);
        free(*store);
        *store = NULL;
        return NULL;
    }
    for (int o = 0; o < out; o++) {
        double centre = (o + 0.5) * scale, sum = 0;
        int lo, hi;
        t[o].weight = *store + (size_t)o * (size_t)most;
        if (mode == RESIZE_NEAREST) {
            lo = (int)centre;
            t[o].first = lo < in ? lo : in - 1;
            t[o].count = 1;
            t[o].weight[0] = 1;
            continue;
        }
        lo = (int)floor(centre - support);
        hi = (int)ceil(centre + support);
        lo = lo < 0 ? 0 : lo;
        hi = hi > in ? in : hi;
        t[o].first = lo;
        t[o].count = 0;
        for (int i = lo; i < hi && t[o].count < most; i++) {
            double d = fabs((i + 0.5 - centre) / support);
            float wgt = (float)(d < 1 ? 1 - d : 0);
            t[o].weight[t[o].count++] = wgt;
            sum += wgt;
        }
        for (int k = 0; k < t[o].count; k++)
            t[o].weight[k] = sum > 0 ? (float)(t[o].weight[k] / sum) : 0;
    }
    return t;
}

/* Channel ch of pixel (x, y) of img as the model's c channels see it:
 * RGB to grey by luminance (ITU-R BT.601), grey to RGB by copying. */
static float source_value(const image *img, int x, int y, int ch, int c)
{
    const uint8_t *p = img->px + ((size_t)y * img->w + x) * (size_t)img->c;
    if (img->c == c)
        return p[ch];
    if (c == 1)
        return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    return p[0];
}

/* Resamples img to (c, h, w) planes: rows first into a (img->h, w, c)
 * buffer, then columns. 0 when out of memory. */
static int resample(const image *img, int c, int h, int w, resize_mode mode,
                    uint8_t *planes)
{
    float *xs_store = NULL, *ys_store = NULL;
    taps *xs = axis_taps(img->w, w, mode, &xs_store);
    taps *ys = axis_taps(img->h, h, mode, &ys_store);
    float *rows = malloc(sizeof *rows * (size_t)img->h * (size_t)w * (size_t)c);
    int ok = xs && ys && rows;
    for (int y = 0; ok && y < img->h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) {
                float v = 0;
                for (int k = 0; k < xs[x].count; k++)
                    v += xs[x].weight[k] *
                         source_value(img, xs[x].first + k, y, ch, c);
                rows[((size_t)y * w + x) * c + ch] = v;
            }
    for (int y = 0; ok && y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) {
                float v = 0;
                for (int k = 0; k < ys[y].count; k++)
                    v += ys[y].weight[k] *
                         rows[((size_t)(ys[y].first + k) * w + x) * c + ch];
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                planes[((size_t)ch * h + y) * w + x] = (uint8_t)(v + 0.5f);
            }
    free(xs);
    free(ys);
    free(xs_store);
    free(ys_store);
    free(rows);
    return ok;
}

int image_fit(const image *img, const char *name, int c, int h, int w,
              resize_mode mode, uint8_t *planes, char *msg, size_t msg_size)
{
    char have[16], want[16];
    if (img->w == w && img->h == h && img->c == c) {
        /* PNG and PPM interleave RGB; the net wants planes. */
        for (size_t i = 0; i < (size_t)h * w; i++)
            for (int ch = 0; ch < c; ch++)
                planes[(size_t)ch * h * w + i] = img->px[i * c + ch];
        return 1;
    }
    if (mode == RESIZE_NONE || (c != 1 && c != 3)) {
        snprintf(msg, msg_size, "%s is %dx%d %s; the model expects %dx%d %s%s",
                 name, img->w, img->h, channels_name(img->c, have, sizeof have),
                 w, h, channels_name(c, want, sizeof want),
                 c != 1 && c != 3 ? " (--resize makes grey or RGB only)"
                 : " (--resize converts it)");
        return 0;
    }
    if (!resample(img, c, h, w, mode, planes)) {
        snprintf(msg, msg_size, "%s: out of memory to resize it", name);
        return 0;
    }
    return 1;
}
