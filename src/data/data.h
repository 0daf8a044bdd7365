/* Batches drawn for training: samples converted from bytes, shifted and
 * mirrored as their augmentation drew, in parallel (src/data/dataset.c). */
#ifndef NN_DATA_DATA_H
#define NN_DATA_DATA_H

#include "core/threads.h"
#include "nn.h"

/* One sample of a batch: its index in the dataset, the shift of its window
 * (row y of the result is row y + dy of the image, zeros outside it) and
 * whether the shifted image is then mirrored left to right. */
typedef struct {
    int index;
    int dy, dx;
    int flip;
} nn_sample_draw;

/* What nn_dataset_batch writes for draws[i].index (i < n), each sample
 * then shifted and mirrored as drawn: x (n, c, h, w), labels (n). Samples
 * are cut into tasks on pool (NULL: this thread); the same bits for any
 * number of threads. NN_EINVAL as nn_dataset_batch. */
nn_status nn_dataset_batch_drawn(const nn_dataset *d,
                                 const nn_sample_draw *draws, int n,
                                 nn_pool *pool, float *x, int *labels);

#endif /* NN_DATA_DATA_H */
