/* Training over MPI processes in the trainers: mnist_train_mpi and
 * cifar10_train_mpi are mnist_train and cifar10_train compiled with
 * NN_WITH_MPI and linked with cli_mpi.c and libnn_mpi. Every process
 * reads the data and trains its shards of every batch; process 0 alone
 * prints and writes files (see docs/DISTRIBUTED.md). Without NN_WITH_MPI
 * the three calls do nothing, so the trainers' code is one. */
#ifndef NN_CLI_MPI_H
#define NN_CLI_MPI_H

#include "cli.h"

#ifdef NN_WITH_MPI
#define CLI_MPI_SUFFIX "_mpi" /* "mnist_train" CLI_MPI_SUFFIX */

/* MPI_Init, before the options are parsed (into o, after cli_defaults):
 * processes other than 0 print nothing on stdout, keep their stderr
 * until cli_mpi_end, and leave the outputs' checks to process 0. 0 after
 * a message when MPI cannot start. */
int cli_mpi_begin(int *argc, char ***argv, cli_options *o);
/* After cli_parse gave rc on every process (collective): what makes no
 * sense over processes is refused (more processes than --shards,
 * --sweep), the processes agree on one outcome (process 0's message
 * stands; another's is shown when only it failed), and on success the
 * group goes into o->train.group, the threads default to the CPUs per
 * process on the machine, and processes other than 0 get no outputs, no
 * progress and no diagnostics. Returns the agreed rc. */
int cli_mpi_setup(int rc, cli_options *o, const char *program);
/* Every process's rc (collective, where every process is alive, e.g.
 * after loading the data): process 0's when it failed (its message
 * stands), else the worst; an agreed failure ends without MPI_Abort. */
int cli_mpi_agree(int rc);
/* Ends MPI and returns rc: after the exchange's figures on process 0
 * (unless quiet) when rc is CLI_OK; with MPI_Abort when a run failed
 * after cli_mpi_setup, so that no process waits for this one (another
 * process shows what it had printed on stderr first). */
int cli_mpi_end(int rc, const cli_options *o);
#else
#define CLI_MPI_SUFFIX ""

static inline int cli_mpi_begin(int *argc, char ***argv, cli_options *o)
{
    (void)argc, (void)argv, (void)o;
    return 1;
}

static inline int cli_mpi_setup(int rc, cli_options *o, const char *program)
{
    (void)o, (void)program;
    return rc;
}

static inline int cli_mpi_agree(int rc)
{
    return rc;
}

static inline int cli_mpi_end(int rc, const cli_options *o)
{
    (void)o;
    return rc;
}
#endif

#endif /* NN_CLI_MPI_H */
