/* Datasets kept as bytes: batches as normalised floats, channel statistics. */
#include "nn.h"

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
