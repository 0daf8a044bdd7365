/* Datasets for nn_convert and predict (cli_data.h). */
#include "cli_data.h"

#include <stdio.h>
#include <sys/stat.h>

nn_status cli_load_split(const char *dir, int train, nn_dataset *out,
                         char *msg, size_t msg_size)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(msg, msg_size, "%s: not a directory (expected MNIST IDX "
                 "files or CIFAR-10 binary batches in it)", dir);
        return NN_EIO;
    }
    if (stat(path, &st) == 0)
        return nn_cifar10_load_dir(dir, train, out, msg, msg_size);
    return nn_mnist_load_dir(dir, train, out, msg, msg_size);
}

int cli_data_fits(const nn_dataset *d, int c, int h, int w, char *msg,
                  size_t msg_size)
{
    if (d->c == c && d->h == h && d->w == w)
        return 1;
    snprintf(msg, msg_size, "images are %dx%dx%d, the model takes %dx%dx%d",
             d->c, d->h, d->w, c, h, w);
    return 0;
}
