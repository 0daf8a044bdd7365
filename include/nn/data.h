/* libnn's datasets and metrics (part of nn.h): MNIST and CIFAR-10 loaders,
 * batches as floats, and classification metrics. */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A labelled image dataset kept as bytes (CIFAR-10 as floats would take
 * 600 MB); batches are converted to floats on demand. */
typedef struct {
    uint8_t *pixels;  /* (count, c, h, w), 0..255 */
    uint8_t *labels;  /* (count), each < classes */
    int count, c, h, w, classes;
    float mean[3], std[3]; /* per channel, applied by nn_dataset_batch */
} nn_dataset;

/* Loads an MNIST-style IDX image file and its label file; each may be plain
 * or gzip-compressed. Sizes are validated before anything is allocated. On
 * failure msg (when not NULL) names the file and the problem. */
nn_status nn_mnist_load(const char *images_path, const char *labels_path,
                        nn_dataset *out, char *msg, size_t msg_size);
/* Loads the training (train = 1) or test split from a directory holding
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
 * and t10k-labels-idx1-ubyte, with or without .gz. */
nn_status nn_mnist_load_dir(const char *dir, int train, nn_dataset *out,
                            char *msg, size_t msg_size);
/* Loads CIFAR-10 binary batch files (1 label byte + 3072 pixel bytes per
 * record, channel-major 3x32x32) and concatenates them. */
nn_status nn_cifar10_load(const char *const *paths, int count,
                          nn_dataset *out, char *msg, size_t msg_size);
/* Loads data_batch_1..5.bin (train = 1) or test_batch.bin from a directory. */
nn_status nn_cifar10_load_dir(const char *dir, int train, nn_dataset *out,
                              char *msg, size_t msg_size);
/* Frees the dataset's arrays and zeroes it (NULL is allowed). */
void nn_dataset_free(nn_dataset *d);
/* Samples indices[0..n) as floats (v/255 - mean) / std into x (n, c, h, w)
 * and their labels into labels (n); indices NULL means 0..n-1. */
nn_status nn_dataset_batch(const nn_dataset *d, const int *indices, int n,
                           float *x, int *labels);
/* Sets mean and std to each channel's statistics over the whole set. */
void nn_dataset_normalize(nn_dataset *d);

/* ---------------------------------------------------------------- metrics */

/* Index of the largest of n values (the first one on ties). */
int nn_argmax(const float *values, int n);
/* matrix (classes, classes) counts rows = true label, columns = predicted. */
nn_status nn_confusion(const int *predicted, const uint8_t *labels, int n,
                       int classes, long *matrix);
/* Per-class precision, recall and F1 from a confusion matrix (0 when a
 * class was never predicted or never present). */
void nn_class_metrics(const long *matrix, int classes, float *precision,
                      float *recall, float *f1);

#ifdef __cplusplus
}
#endif

#endif /* NN_DATA_H */
