/* mnist_train_mpi / cifar10_train_mpi: MPI start-up, the group, and what
 * only process 0 does (see cli_mpi.h and docs/DISTRIBUTED.md). */
#include "cli_mpi.h"

#include <stdio.h>

#include "nn_mpi.h"

static nn_mpi_group *group; /* this program's one group */
static int rank, size;

int cli_mpi_begin(int *argc, char ***argv)
{
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "error: MPI could not start\n");
        return 0;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank != 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "warning: process %d could not silence its output\n", rank);
    return 1;
}

/* 1 when n is a power of two. */
static int power_of_two(int n)
{
    return n > 0 && (n & (n - 1)) == 0;
}

int cli_mpi_setup(cli_options *o, const char *program)
{
    nn_status st;
    if (size > o->shards) {
        fprintf(stderr, "%s: %d processes but --shards %d: each process needs "
                        "a shard of every batch (use --shards %d or more)\n",
                program, size, o->shards, size);
        return CLI_USAGE;
    }
    if (o->sweep_count) {
        fprintf(stderr, "%s: --sweep runs one training after another; run it "
                        "with %s (one process) or one job per value\n", program,
                program);
        return CLI_USAGE;
    }
    if ((st = nn_mpi_group_create(MPI_COMM_WORLD, &group)) != NN_OK) {
        fprintf(stderr, "%s: process group: %s\n", program, nn_status_str(st));
        return CLI_FAIL;
    }
    o->train.group = nn_mpi_group_get(group);
    if (rank == 0 && !o->quiet) {
        printf("distributed: %d process%s, %d shards per batch", size,
               size == 1 ? "" : "es", o->shards);
        if (o->shards % size || !power_of_two(o->shards / size))
            printf(" (%d / %d is not a power of two: the weights differ in "
                   "the last bits from one process's)", o->shards, size);
        printf("\n");
    }
    if (rank != 0) {
        o->quiet = 1;
        o->no_diagnostics = 1;
        o->save_path = o->json_path = o->report_dir = NULL;
        o->checkpoint_path = NULL;
    }
    return CLI_OK;
}

int cli_mpi_end(int rc, const cli_options *o)
{
    nn_mpi_stats stats = {0, 0, 0.0};
    nn_mpi_group_stats(group, &stats);
    if (rc != CLI_OK) {
        fflush(stdout);
        MPI_Abort(MPI_COMM_WORLD, rc);
        return rc;
    }
    if (group && rank == 0 && !o->quiet)
        printf("exchange: %llu sums, %.2f s, %.1f MB sent by process 0\n",
               (unsigned long long)stats.calls, stats.seconds,
               (double)stats.bytes_sent / 1e6);
    nn_mpi_group_destroy(group);
    MPI_Finalize();
    return rc;
}
