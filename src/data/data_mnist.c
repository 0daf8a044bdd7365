/* MNIST-style IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed.
 *
 * An IDX file is a big-endian header, magic 0x00000803 (unsigned bytes,
 * 3 dimensions: count, rows, cols) for images or 0x00000801 (1 dimension:
 * count) for labels, followed by the bytes. Every header field is checked
 * against the file's real size before the dataset is allocated. */
#include "io/io.h"
#include "core/util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    IDX_IMAGES_MAGIC = 0x00000803,
    IDX_LABELS_MAGIC = 0x00000801,
    IDX_IMAGES_HEADER = 16, /* magic, count, rows, cols */
    IDX_LABELS_HEADER = 8,  /* magic, count */
    MNIST_CLASSES = 10
};

/* A whole IDX file in memory. */
typedef struct {
    const char *path;
    unsigned char *data; /* (size) file contents, header included */
    size_t size;
    uint32_t dims[3];    /* count, then rows and cols for images */
} idx_file;

/* The big-endian 32-bit value at p. */
static uint32_t read_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* Reads an IDX file and checks its magic number (first, so that a wrong
 * kind of file is named as such) and that its header is complete; fills
 * dims with the header's ndims dimensions. */
static nn_status idx_read(idx_file *f, uint32_t magic, int ndims, char *msg,
                          size_t msg_size)
{
    size_t header = 4 + 4 * (size_t)ndims;
    int i;
    nn_status st = nn_read_file(f->path, NN_DATA_MAX_BYTES, NN_DATA_MAX_BYTES,
                                &f->data, &f->size, msg, msg_size);
    if (st != NN_OK)
        return st;
    if (f->size >= 4 && read_be32(f->data) != magic) {
        nn_format_msg(msg, msg_size,
                      "%s: bad magic number 0x%08lx (expected 0x%08lx)",
                      f->path, (unsigned long)read_be32(f->data),
                      (unsigned long)magic);
        return NN_EFORMAT;
    }
    if (f->size < header) {
        nn_format_msg(msg, msg_size,
                      "%s: truncated header (%zu bytes, expected %zu)",
                      f->path, f->size, header);
        return NN_EFORMAT;
    }
    for (i = 0; i < ndims; i++)
        f->dims[i] = read_be32(f->data + 4 + 4 * i);
    return NN_OK;
}

/* Checks that every dimension lies in 1..INT_MAX, that their product with
 * the header does not overflow, and that it is exactly the file's size. */
static nn_status idx_check_size(const idx_file *f, int ndims, size_t header,
                                char *msg, size_t msg_size)
{
    size_t expected = 1;
    int i;
    for (i = 0; i < ndims; i++) {
        if (f->dims[i] == 0 || f->dims[i] > INT_MAX) {
            nn_format_msg(msg, msg_size, "%s: dimension %d is %lu (must be 1..%d)",
                          f->path, i, (unsigned long)f->dims[i], INT_MAX);
            return NN_EFORMAT;
        }
        if (!nn_mul_size(expected, f->dims[i], &expected)) {
            nn_format_msg(msg, msg_size, "%s: dimensions overflow a size",
                          f->path);
            return NN_EOVERFLOW;
        }
    }
    if (expected > SIZE_MAX - header || header + expected != f->size) {
        nn_format_msg(msg, msg_size,
                      "%s: %zu bytes, but the header describes %zu + %zu",
                      f->path, f->size, header, expected);
        return NN_EFORMAT;
    }
    return NN_OK;
}

/* Checks that every label is below the number of classes. */
static nn_status check_labels(const idx_file *f, char *msg, size_t msg_size)
{
    const unsigned char *labels = f->data + IDX_LABELS_HEADER;
    uint32_t i;
    for (i = 0; i < f->dims[0]; i++) {
        if (labels[i] >= MNIST_CLASSES) {
            nn_format_msg(msg, msg_size,
                          "%s: label %u at index %lu is not below %d",
                          f->path, labels[i], (unsigned long)i, MNIST_CLASSES);
            return NN_EFORMAT;
        }
    }
    return NN_OK;
}

/* Reads and validates both files of a split. */
static nn_status read_pair(idx_file *images, idx_file *labels, char *msg,
                           size_t msg_size)
{
    nn_status st;
    if ((st = idx_read(images, IDX_IMAGES_MAGIC, 3, msg, msg_size)) != NN_OK ||
        (st = idx_check_size(images, 3, IDX_IMAGES_HEADER, msg, msg_size)) != NN_OK ||
        (st = idx_read(labels, IDX_LABELS_MAGIC, 1, msg, msg_size)) != NN_OK ||
        (st = idx_check_size(labels, 1, IDX_LABELS_HEADER, msg, msg_size)) != NN_OK ||
        (st = check_labels(labels, msg, msg_size)) != NN_OK)
        return st;
    if (labels->dims[0] != images->dims[0]) {
        nn_format_msg(msg, msg_size, "%s: %lu labels but %lu images",
                      labels->path, (unsigned long)labels->dims[0],
                      (unsigned long)images->dims[0]);
        return NN_EFORMAT;
    }
    return NN_OK;
}

/* Turns a validated file buffer into a bare array of its payload: the
 * header is moved out of the way, so no second copy is needed. */
static uint8_t *take_payload(idx_file *f, size_t header)
{
    uint8_t *payload = f->data;
    memmove(payload, payload + header, f->size - header);
    f->data = NULL;
    return payload;
}

nn_status nn_mnist_load(const char *images_path, const char *labels_path,
                        nn_dataset *out, char *msg, size_t msg_size)
{
    idx_file images = {0}, labels = {0};
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!out)
        return NN_EINVAL;
    memset(out, 0, sizeof *out);
    if (!images_path || !labels_path)
        return NN_EINVAL;
    images.path = images_path;
    labels.path = labels_path;
    st = read_pair(&images, &labels, msg, msg_size);
    if (st == NN_OK) {
        out->count = (int)images.dims[0];
        out->c = 1;
        out->h = (int)images.dims[1];
        out->w = (int)images.dims[2];
        out->classes = MNIST_CLASSES;
        out->std[0] = out->std[1] = out->std[2] = 1.0f;
        out->pixels = take_payload(&images, IDX_IMAGES_HEADER);
        out->labels = take_payload(&labels, IDX_LABELS_HEADER);
    }
    free(images.data);
    free(labels.data);
    return st;
}

/* dir/name when that file can be read, else dir/name.gz (the message
 * names both when neither can). */
static nn_status find_variant(const char *dir, const char *name, char *path,
                              size_t size, char *msg, size_t msg_size)
{
    static const char *const suffixes[2] = {"", ".gz"};
    char file[256];
    int i;
    for (i = 0; i < 2; i++) {
        if (snprintf(file, sizeof file, "%s%s", name, suffixes[i]) >= (int)sizeof file)
            return NN_EINVAL;
        if (nn_path_join(dir, file, path, size) != NN_OK) {
            nn_format_msg(msg, msg_size, "%s: directory name too long", dir);
            return NN_EOVERFLOW;
        }
        if (nn_file_readable(path))
            return NN_OK;
    }
    nn_format_msg(msg, msg_size, "%s: neither %s nor %s.gz can be read", dir,
                  name, name);
    return NN_EIO;
}

nn_status nn_mnist_load_dir(const char *dir, int train, nn_dataset *out,
                            char *msg, size_t msg_size)
{
    char images[4096], labels[4096];
    const char *split = train ? "train" : "t10k";
    char name[64];
    nn_status st;
    if (!out)
        return NN_EINVAL;
    memset(out, 0, sizeof *out);
    if (!dir)
        return NN_EINVAL;
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", split);
    st = find_variant(dir, name, images, sizeof images, msg, msg_size);
    if (st != NN_OK)
        return st;
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", split);
    st = find_variant(dir, name, labels, sizeof labels, msg, msg_size);
    if (st != NN_OK)
        return st;
    return nn_mnist_load(images, labels, out, msg, msg_size);
}
