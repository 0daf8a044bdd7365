/* libFuzzer target: nn_mnist_load on an IDX image file and an IDX label
 * file cut from one input (fuzz_split: part 0 labels, part 1 images; mode
 * bit 0 gzips the images, bit 1 the labels, through the loader's gzip path).
 * A load that succeeds must describe a consistent dataset. */
#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>

/* Checks a loaded MNIST dataset and turns a few samples into a batch. */
static void check_dataset(nn_dataset *d)
{
    enum { BATCH = 4 };
    int indices[BATCH], labels[BATCH];
    size_t pixels = (size_t)d->c * d->h * d->w;
    float *x;
    FUZZ_CHECK(d->count > 0 && d->c == 1 && d->h > 0 && d->w > 0);
    FUZZ_CHECK(d->classes == 10 && d->pixels && d->labels);
    for (int i = 0; i < d->count; i++)
        FUZZ_CHECK(d->labels[i] < d->classes);
    x = malloc(BATCH * pixels * sizeof *x);
    FUZZ_CHECK(x != NULL);
    for (int i = 0; i < BATCH; i++)
        indices[i] = d->count - 1 - i % d->count;
    nn_dataset_normalize(d);
    FUZZ_CHECK(nn_dataset_batch(d, indices, BATCH, x, labels) == NN_OK);
    for (int i = 0; i < BATCH; i++)
        FUZZ_CHECK(labels[i] == d->labels[indices[i]]);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_parts in;
    nn_dataset d;
    char msg[256];
    const char *images, *labels;
    nn_status st;
    fuzz_split(data, size, &in);
    labels = fuzz_file(0, in.part[0], in.size[0], in.mode & 2);
    images = fuzz_file(1, in.part[1], in.size[1], in.mode & 1);
    FUZZ_CHECK(labels && images);
    st = nn_mnist_load(images, labels, &d, msg, sizeof msg);
    FUZZ_CHECK(strlen(msg) < sizeof msg);
    if (st == NN_OK)
        check_dataset(&d);
    else
        FUZZ_CHECK(d.pixels == NULL && d.labels == NULL && msg[0] != '\0');
    nn_dataset_free(&d);
    return 0;
}
