/* Datasets as the tools that are not trainers (nn_convert, predict) read
 * them: a directory of MNIST-style IDX files or of CIFAR-10 binary batches,
 * normalised as a model was trained. Not part of libnn. */
#ifndef NN_CLI_DATA_H
#define NN_CLI_DATA_H

#include <stddef.h>

#include "nn.h"

/* Loads the training (train = 1) or test split of dir: CIFAR-10 when dir
 * holds test_batch.bin, else MNIST-style IDX files. msg says why not. */
nn_status cli_load_split(const char *dir, int train, nn_dataset *out,
                         char *msg, size_t msg_size);
/* Checks that d's images have shape (c, h, w); msg says why not. */
int cli_data_fits(const nn_dataset *d, int c, int h, int w, char *msg,
                  size_t msg_size);

#endif
