/* libFuzzer target: nn_cifar10_load on one or two CIFAR-10 batch files cut
 * from one input (fuzz_split: mode bit 0 loads part 0 and part 1 as two
 * files, else part 1 alone; bit 1 gzips them through the loader's gzip
 * path). A load that succeeds must describe a consistent dataset. */
#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>

enum { CIFAR_RECORD = 3073 };

/* Checks a loaded CIFAR-10 dataset against the bytes it came from (the
 * record count only when no part was itself a gzip stream). */
static void check_dataset(nn_dataset *d, const fuzz_parts *in, int files)
{
    size_t records = 0;
    int labels[2], packed = 0;
    int indices[2] = {0, 0};
    float *x = malloc(2 * 3072 * sizeof *x);
    for (int f = 2 - files; f < 2; f++) {
        records += in->size[f] / CIFAR_RECORD;
        packed |= in->size[f] >= 2 && in->part[f][0] == 0x1f &&
                  in->part[f][1] == 0x8b && !(in->mode & 2);
    }
    FUZZ_CHECK(d->count > 0 && (packed || (size_t)d->count == records));
    FUZZ_CHECK(d->c == 3 && d->h == 32 && d->w == 32 && d->classes == 10);
    for (int i = 0; i < d->count; i++)
        FUZZ_CHECK(d->labels[i] < 10);
    indices[1] = d->count - 1;
    FUZZ_CHECK(x != NULL);
    nn_dataset_normalize(d);
    FUZZ_CHECK(nn_dataset_batch(d, indices, 2, x, labels) == NN_OK);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_parts in;
    nn_dataset d;
    char msg[256];
    const char *paths[2];
    int files;
    nn_status st;
    fuzz_split(data, size, &in);
    files = in.mode & 1 ? 2 : 1;
    paths[0] = fuzz_file(0, in.part[2 - files], in.size[2 - files], in.mode & 2);
    paths[1] = fuzz_file(1, in.part[1], in.size[1], in.mode & 2);
    FUZZ_CHECK(paths[0] && paths[1]);
    st = nn_cifar10_load(paths, files, &d, msg, sizeof msg);
    FUZZ_CHECK(strlen(msg) < sizeof msg);
    if (st == NN_OK)
        check_dataset(&d, &in, files);
    else
        FUZZ_CHECK(d.pixels == NULL && d.labels == NULL && msg[0] != '\0');
    nn_dataset_free(&d);
    return 0;
}
