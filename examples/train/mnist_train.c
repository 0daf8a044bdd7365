/* mnist_train: trains a network on MNIST (or Fashion-MNIST, same format)
 * and reports test accuracy, the confusion matrix and per-class metrics.
 * Run with --help for the options. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_mpi.h"

#define PROGRAM "mnist_train" CLI_MPI_SUFFIX /* the _mpi trainer: cli_mpi.h */

#define DEFAULT_DIR "data/mnist"
#define DEBIAN_FASHION_DIR "/usr/share/datasets/fashion-mnist"

static const char *const digit_names[10] = {"0", "1", "2", "3", "4",
                                            "5", "6", "7", "8", "9"};
static const char *const fashion_names[10] = {
    "T-shirt", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* 1 when dir holds a training-image file, plain or compressed. */
static int has_mnist(const char *dir)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    if (stat(path, &st) == 0)
        return 1;
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    return stat(path, &st) == 0;
}

/* Fashion-MNIST when the directory's name says so. */
static int is_fashion(const char *dir)
{
    char lower[4096];
    size_t i;
    for (i = 0; dir[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)dir[i]);
    lower[i] = '\0';
    return strstr(lower, "fashion") != NULL;
}

/* Its loader, a part of its files' names, the files, where to get them. */
static const cli_data_kind mnist_files = {nn_mnist_load_dir, "-idx",
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte, plain or .gz", "Get MNIST with data/fetch_mnist.sh (into "
    DEFAULT_DIR "), or offline on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
    "(Fashion-MNIST, the same format, in " DEBIAN_FASHION_DIR ")"};

int main(int argc, char **argv)
{
    cli_options o;
    nn_dataset train = {0}, test = {0};
    const char *dir;
    int rc;

    cli_defaults(&o, "lenet");
    if (!cli_mpi_begin(&argc, &argv, &o)) /* MPI_Init in the _mpi trainer */
        return CLI_FAIL;
    rc = cli_parse(argc, argv, &o, PROGRAM,
                   "MNIST directory (" DEFAULT_DIR "; else Debian's " DEBIAN_FASHION_DIR ")");
    rc = cli_mpi_setup(rc, &o, PROGRAM);
    if (rc != CLI_OK)
        return cli_mpi_end(rc < 0 ? CLI_OK : rc, &o);
    dir = o.data_dir;
    if (!dir) {
        dir = DEFAULT_DIR;
        if (!has_mnist(dir) && has_mnist(DEBIAN_FASHION_DIR)) {
            dir = DEBIAN_FASHION_DIR;
            fprintf(stderr, "note: no MNIST in %s (run data/fetch_mnist.sh); "
                            "using Fashion-MNIST from %s\n", DEFAULT_DIR, dir);
        }
    }
    rc = cli_load(PROGRAM, dir, &mnist_files, &train, &test);
    rc = cli_mpi_agree(rc); /* every process loaded its copy, or none goes on */
    if (rc != CLI_OK)
        return cli_mpi_end(rc, &o);
    if (!o.quiet)
        printf("data: %s (%s)\n", dir, is_fashion(dir) ? "Fashion-MNIST" : "MNIST");
    rc = cli_run(&o, &train, &test, is_fashion(dir) ? fashion_names : digit_names);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    return cli_mpi_end(rc, &o);
}
