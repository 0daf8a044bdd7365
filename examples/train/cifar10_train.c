/* cifar10_train: trains a network on CIFAR-10 (binary version) with random
 * crops and horizontal flips, normalised per channel with the training
 * set's statistics. Same options as mnist_train; run with --help. */
#include <stdio.h>
#include <string.h>

#include "cli_mpi.h"

#define PROGRAM "cifar10_train" CLI_MPI_SUFFIX /* the _mpi trainer: cli_mpi.h */

#define DEFAULT_DIR "data/cifar10"

static const char *const cifar_names[10] = {
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck"};

/* Its loader, a part of its files' names, the files, where to get them. */
static const cli_data_kind cifar_files = {nn_cifar10_load_dir, "_batch",
    "data_batch_1.bin to data_batch_5.bin and test_batch.bin, the binary version",
    "Get CIFAR-10 with data/fetch_cifar10.sh (into " DEFAULT_DIR "; Debian and "
    "Ubuntu do not package it)"};

int main(int argc, char **argv)
{
    cli_options o;
    nn_dataset train = {0}, test = {0};
    const char *dir;
    int rc;

    cli_defaults(&o, "vgg");
    if (!cli_mpi_begin(&argc, &argv, &o)) /* MPI_Init in the _mpi trainer */
        return CLI_FAIL;
    o.train.augment_flip = 1;
    o.train.augment_crop = 4;
    rc = cli_parse(argc, argv, &o, PROGRAM,
                   "CIFAR-10 binary directory (" DEFAULT_DIR ")");
    rc = cli_mpi_setup(rc, &o, PROGRAM);
    if (rc != CLI_OK)
        return cli_mpi_end(rc < 0 ? CLI_OK : rc, &o);
    dir = o.data_dir ? o.data_dir : DEFAULT_DIR;
    rc = cli_load(PROGRAM, dir, &cifar_files, &train, &test);
    rc = cli_mpi_agree(rc); /* every process loaded its copy, or none goes on */
    if (rc != CLI_OK)
        return cli_mpi_end(rc, &o);
    nn_dataset_normalize(&train);
    memcpy(test.mean, train.mean, sizeof test.mean);
    memcpy(test.std, train.std, sizeof test.std);
    if (!o.quiet)
        printf("data: %s (CIFAR-10), mean %.3f %.3f %.3f, std %.3f %.3f %.3f\n", dir,
               train.mean[0], train.mean[1], train.mean[2], train.std[0],
               train.std[1], train.std[2]);
    rc = cli_run(&o, &train, &test, cifar_names);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    return cli_mpi_end(rc, &o);
}
