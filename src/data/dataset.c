/* Datasets kept as bytes: batches as normalised floats, channel statistics. */
#include "nn.h"

#include "data/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_CHANNELS = 3, BYTE_VALUES = 256 };

void nn_dataset_free(nn_dataset *d)
{
    if (!d)
        return;
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* Checks that a dataset has pixels and a sane shape. */
static int shape_valid(const nn_dataset *d)
{
    return d && d->pixels && d->count > 0 && d->c > 0 &&
           d->c <= MAX_CHANNELS && d->h > 0 && d->w > 0;
}

/* Checks that batches can be drawn: shape, labels, and each channel's
 * mean finite and std positive and finite. */
static int batch_ready(const nn_dataset *d)
{
    int c;
    if (!shape_valid(d) || !d->labels)
        return 0;
    for (c = 0; c < d->c; c++)
        if (!(d->std[c] > 0.0f) || !isfinite(d->std[c]) ||
            !isfinite(d->mean[c]))
            return 0;
    return 1;
}

/* The float of every byte value in every channel: (v/255 - mean) / std. */
static void fill_lookup(const nn_dataset *d,
                        float lookup[MAX_CHANNELS][BYTE_VALUES])
{
    int c, v;
    for (c = 0; c < d->c; c++)
        for (v = 0; v < BYTE_VALUES; v++)
            lookup[c][v] = ((float)v / 255.0f - d->mean[c]) / d->std[c];
}

nn_status nn_dataset_batch(const nn_dataset *d, const int *indices, int n,
                           float *x, int *labels)
{
    float lookup[MAX_CHANNELS][BYTE_VALUES];
    size_t plane, sample;
    int i, c;
    if (!batch_ready(d) || !x || !labels || n <= 0)
        return NN_EINVAL;
    if (!indices && n > d->count)
        return NN_EINVAL;
    for (i = 0; indices && i < n; i++)
        if (indices[i] < 0 || indices[i] >= d->count)
            return NN_EINVAL;
    fill_lookup(d, lookup);
    plane = (size_t)d->h * (size_t)d->w;
    sample = (size_t)d->c * plane;
    for (i = 0; i < n; i++) {
        size_t index = (size_t)(indices ? indices[i] : i);
        const uint8_t *src = d->pixels + index * sample; /* (c, h, w) */
        float *dst = x + (size_t)i * sample;               /* (c, h, w) */
        for (c = 0; c < d->c; c++) {
            size_t p;
            for (p = 0; p < plane; p++)
                dst[(size_t)c * plane + p] = lookup[c][src[(size_t)c * plane + p]];
        }
        labels[i] = d->labels[index];
    }
    return NN_OK;
}

/* A batch being drawn: the samples, their lookup table and where they go. */
typedef struct {
    const nn_dataset *d;
    const nn_sample_draw *draws;
    int n;
    const float (*lookup)[BYTE_VALUES];
    float *x;
    int *labels;
} drawn_batch;

enum { DRAW_TASKS = 8 }; /* tasks of a drawn batch, whatever the threads */

/* Row y of one channel of the sample: out[i] = the value at (y + dy,
 * j + dx) of the image, j = w - 1 - i when mirrored (else i), 0 outside. */
static void draw_row(const uint8_t *src, const float *lookup, int h, int w,
                     int y, const nn_sample_draw *draw, float *out)
{
    long long sy = (long long)y + draw->dy;
    if (sy < 0 || sy >= h) {
        memset(out, 0, sizeof *out * (size_t)w);
        return;
    }
    src += (size_t)sy * w;
    if (!draw->flip && draw->dx == 0) { /* a row shifted up or down */
        for (int i = 0; i < w; i++)
            out[i] = lookup[src[i]];
        return;
    }
    for (int i = 0; i < w; i++) {
        long long sx = (long long)(draw->flip ? w - 1 - i : i) + draw->dx;
        out[i] = sx >= 0 && sx < w ? lookup[src[sx]] : 0.0f;
    }
}

/* The samples of task `task` (of DRAW_TASKS), each (c, h, w). */
static void draw_task(void *ctx, int task, int thread)
{
    const drawn_batch *b = ctx;
    const nn_dataset *d = b->d;
    size_t plane = (size_t)d->h * d->w, sample = (size_t)d->c * plane;
    int first, last;
    (void)thread;
    nn_split(b->n, DRAW_TASKS, task, &first, &last);
    for (int i = first; i < last; i++) {
        const nn_sample_draw *draw = &b->draws[i];
        const uint8_t *src = d->pixels + (size_t)draw->index * sample;
        float *dst = b->x + (size_t)i * sample;
        int plain = !draw->dy && !draw->dx && !draw->flip;
        for (int c = 0; c < d->c; c++) {
            const uint8_t *in = src + (size_t)c * plane; /* (h, w) */
            float *out = dst + (size_t)c * plane;        /* (h, w) */
            if (plain)
                for (size_t p = 0; p < plane; p++)
                    out[p] = b->lookup[c][in[p]];
            else
                for (int y = 0; y < d->h; y++)
                    draw_row(in, b->lookup[c], d->h, d->w, y, draw,
                             out + (size_t)y * d->w);
        }
        b->labels[i] = d->labels[draw->index];
    }
}

nn_status nn_dataset_batch_drawn(const nn_dataset *d,
                                 const nn_sample_draw *draws, int n,
                                 nn_pool *pool, float *x, int *labels)
{
    float lookup[MAX_CHANNELS][BYTE_VALUES];
    drawn_batch batch;
    if (!batch_ready(d) || !draws || !x || !labels || n <= 0)
        return NN_EINVAL;
    for (int i = 0; i < n; i++)
        if (draws[i].index < 0 || draws[i].index >= d->count)
            return NN_EINVAL;
    fill_lookup(d, lookup);
    batch = (drawn_batch){.d = d, .draws = draws, .n = n,
                          .lookup = (const float (*)[BYTE_VALUES])lookup,
                          .x = x, .labels = labels};
    nn_pool_run(pool, DRAW_TASKS, draw_task, &batch);
    return NN_OK;
}

/* Counts how often each byte value occurs in each channel. */
static void channel_histograms(const nn_dataset *d,
                               size_t histogram[MAX_CHANNELS][BYTE_VALUES])
{
    size_t plane = (size_t)d->h * (size_t)d->w, i, p;
    int c;
    memset(histogram, 0, sizeof(size_t) * MAX_CHANNELS * BYTE_VALUES);
    for (i = 0; i < (size_t)d->count; i++) {
        const uint8_t *src = d->pixels + i * (size_t)d->c * plane;
        for (c = 0; c < d->c; c++)
            for (p = 0; p < plane; p++)
                histogram[c][src[(size_t)c * plane + p]]++;
    }
}

/* Mean and (population) standard deviation of v/255 over all pixels of
 * each channel, computed exactly from byte histograms; a constant channel
 * keeps std 1 so batches never divide by zero. Channels beyond c get 0, 1. */
void nn_dataset_normalize(nn_dataset *d)
{
    size_t histogram[MAX_CHANNELS][BYTE_VALUES];
    int c, v;
    if (!shape_valid(d))
        return;
    channel_histograms(d, histogram);
    for (c = 0; c < MAX_CHANNELS; c++) {
        double n = 0.0, sum = 0.0, sum_sq = 0.0, mean, var;
        d->mean[c] = 0.0f;
        d->std[c] = 1.0f;
        if (c >= d->c)
            continue;
        for (v = 0; v < BYTE_VALUES; v++) {
            double value = v / 255.0;
            n += (double)histogram[c][v];
            sum += (double)histogram[c][v] * value;
            sum_sq += (double)histogram[c][v] * value * value;
        }
        mean = sum / n;
        var = sum_sq / n - mean * mean;
        d->mean[c] = (float)mean;
        if (var > 1e-12)
            d->std[c] = (float)sqrt(var);
    }
}
