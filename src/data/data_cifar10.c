/* CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin).
 *
 * A batch file is a sequence of 3073-byte records: one label byte (< 10),
 * then a 32x32 image as three channel planes, red, green then blue, each
 * row-major. That is already the dataset's (c, h, w) layout, so records
 * are copied as they are. */
#include "io/io.h"
#include "core/util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    CIFAR_CHANNELS = 3,
    CIFAR_SIDE = 32,
    CIFAR_PIXELS = CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE, /* 3072 */
    CIFAR_RECORD = 1 + CIFAR_PIXELS,                         /* 3073 */
    CIFAR_CLASSES = 10,
    CIFAR_TRAIN_BATCHES = 5
};

/* Checks a batch file's size (a non-zero multiple of a record) and every
 * label; *records is the number of records. */
static nn_status check_batch(const char *path, const unsigned char *data,
                             size_t size, size_t *records, char *msg,
                             size_t msg_size)
{
    size_t i;
    if (size == 0 || size % CIFAR_RECORD != 0) {
        nn_format_msg(msg, msg_size,
                      "%s: %zu bytes is not a whole number of %d-byte records",
                      path, size, CIFAR_RECORD);
        return NN_EFORMAT;
    }
    *records = size / CIFAR_RECORD;
    for (i = 0; i < *records; i++) {
        unsigned label = data[i * CIFAR_RECORD];
        if (label >= CIFAR_CLASSES) {
            nn_format_msg(msg, msg_size,
                          "%s: label %u of record %zu is not below %d", path,
                          label, i, CIFAR_CLASSES);
            return NN_EFORMAT;
        }
    }
    return NN_OK;
}

/* Grows the dataset's arrays to hold `more` more records (count itself is
 * left for append_records); the dataset stays valid if this fails. */
static nn_status grow(nn_dataset *d, size_t more, const char *path, char *msg,
                      size_t msg_size)
{
    size_t total = (size_t)d->count + more, pixel_bytes;
    uint8_t *pixels, *labels;
    if (more > (size_t)INT_MAX - (size_t)d->count ||
        !nn_mul_size(total, CIFAR_PIXELS, &pixel_bytes)) {
        nn_format_msg(msg, msg_size, "%s: too many records in all", path);
        return NN_EOVERFLOW;
    }
    pixels = realloc(d->pixels, pixel_bytes);
    if (pixels)
        d->pixels = pixels;
    labels = pixels ? realloc(d->labels, total) : NULL;
    if (labels)
        d->labels = labels;
    if (!pixels || !labels) {
        nn_format_msg(msg, msg_size, "%s: out of memory", path);
        return NN_ENOMEM;
    }
    return NN_OK;
}

/* Appends records: the label bytes to labels, the planes to pixels. */
static void append_records(nn_dataset *d, const unsigned char *data,
                           size_t records)
{
    size_t i;
    for (i = 0; i < records; i++, d->count++) {
        const unsigned char *record = data + i * CIFAR_RECORD;
        d->labels[d->count] = record[0];
        memcpy(d->pixels + (size_t)d->count * CIFAR_PIXELS, record + 1,
               CIFAR_PIXELS);
    }
}

/* Reads one batch file, validates it and appends its records. */
static nn_status load_batch(nn_dataset *d, const char *path, char *msg,
                            size_t msg_size)
{
    unsigned char *data;
    size_t size, records = 0;
    nn_status st =
        nn_read_file(path, NN_DATA_MAX_BYTES, NN_DATA_MAX_BYTES, &data, &size,
                     msg, msg_size);
    if (st != NN_OK)
        return st;
    st = check_batch(path, data, size, &records, msg, msg_size);
    if (st == NN_OK)
        st = grow(d, records, path, msg, msg_size);
    if (st == NN_OK)
        append_records(d, data, records);
    free(data);
    return st;
}

nn_status nn_cifar10_load(const char *const *paths, int count,
                          nn_dataset *out, char *msg, size_t msg_size)
{
    int i;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!out)
        return NN_EINVAL;
    memset(out, 0, sizeof *out);
    if (!paths || count <= 0)
        return NN_EINVAL;
    for (i = 0; i < count; i++)
        if (!paths[i])
            return NN_EINVAL;
    out->c = CIFAR_CHANNELS;
    out->h = out->w = CIFAR_SIDE;
    out->classes = CIFAR_CLASSES;
    out->std[0] = out->std[1] = out->std[2] = 1.0f;
    for (i = 0; i < count; i++) {
        nn_status st = load_batch(out, paths[i], msg, msg_size);
        if (st != NN_OK) {
            nn_dataset_free(out);
            return st;
        }
    }
    return NN_OK;
}

nn_status nn_cifar10_load_dir(const char *dir, int train, nn_dataset *out,
                              char *msg, size_t msg_size)
{
    char paths[CIFAR_TRAIN_BATCHES][4096];
    const char *list[CIFAR_TRAIN_BATCHES];
    int count = train ? CIFAR_TRAIN_BATCHES : 1, i;
    if (!out)
        return NN_EINVAL;
    memset(out, 0, sizeof *out);
    if (!dir)
        return NN_EINVAL;
    for (i = 0; i < count; i++) {
        char name[32];
        if (train)
            snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
        else
            snprintf(name, sizeof name, "test_batch.bin");
        if (nn_path_join(dir, name, paths[i], sizeof paths[i]) != NN_OK) {
            nn_format_msg(msg, msg_size, "%s: directory name too long", dir);
            return NN_EOVERFLOW;
        }
        list[i] = paths[i];
    }
    return nn_cifar10_load(list, count, out, msg, msg_size);
}
