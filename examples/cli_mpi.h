/* The MPI side of mnist_train_mpi and cifar10_train_mpi: the same trainers
 * as mnist_train and cifar10_train, built with NN_WITH_MPI and linked with
 * libnn_mpi. Every process loads the data and trains its shards of each
 * batch; process 0 alone prints and writes files. */
#ifndef NN_CLI_MPI_H
#define NN_CLI_MPI_H

#include "cli.h"

/* MPI_Init; other processes than 0 print nothing on stdout from here on.
 * 0 (after a message) when MPI cannot start. */
int cli_mpi_begin(int *argc, char ***argv);
/* After the options are parsed: the group in o->train.group; processes
 * other than 0 get no files to write, no diagnostics and no progress.
 * CLI_OK, or CLI_USAGE after a message (more processes than shards, a
 * sweep). */
int cli_mpi_setup(cli_options *o, const char *program);
/* Ends MPI: with the exchange's figures on process 0 when rc is CLI_OK
 * (unless quiet); MPI_Abort when rc is an error, so that no other process
 * waits for this one. Returns rc. */
int cli_mpi_end(int rc, const cli_options *o);

#endif /* NN_CLI_MPI_H */
