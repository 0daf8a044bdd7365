/* The MPI side of mnist_train_mpi and cifar10_train_mpi (cli_mpi.h):
 * start-up, the agreement on the options, the group, and the ending, with
 * MPI_Abort when a process fails so that none waits for it. */
#include "cli_mpi.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_mpi.h"

/* This program's one run over MPI. */
static struct {
    int rank, size;
    nn_mpi_group *group;
    FILE *held;      /* processes other than 0: their stderr until the end */
    int real_stderr; /* ... and the stderr they had (-1: none held) */
    int speak;       /* show what was held, when the run fails */
    int started;     /* past cli_mpi_setup: a failure now aborts the job */
    double start;    /* MPI_Wtime when training began */
} mpi = {0, 1, NULL, NULL, -1, 1, 0, 0.0};

int cli_mpi_begin(int *argc, char ***argv, cli_options *o)
{
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "error: MPI could not start\n");
        return 0;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi.size);
    if (mpi.rank == 0)
        return 1;
    o->outputs_elsewhere = 1;
    fflush(stdout);
    fflush(stderr);
    if (!freopen("/dev/null", "w", stdout))
        fprintf(stderr, "warning: process %d could not silence its output\n", mpi.rank);
    /* the same messages as process 0's, shown only if this one fails */
    mpi.held = tmpfile();
    if (mpi.held && (mpi.real_stderr = dup(2)) >= 0 && dup2(fileno(mpi.held), 2) < 0) {
        close(mpi.real_stderr);
        mpi.real_stderr = -1;
    }
    return 1;
}

/* Shows what this process printed on stderr, each line after its rank. */
static void show_held(void)
{
    char line[1024];
    int line_start = 1;
    FILE *out;
    if (!mpi.held || mpi.real_stderr < 0 || !mpi.speak)
        return;
    fflush(stderr);
    rewind(mpi.held);
    out = fdopen(mpi.real_stderr, "w");
    if (!out)
        return;
    while (fgets(line, sizeof line, mpi.held)) {
        if (line_start)
            fprintf(out, "process %d: ", mpi.rank);
        fputs(line, out);
        line_start = line[strlen(line) - 1] == '\n';
    }
    fflush(out);
}

/* 1 when n is a power of two. */
static int power_of_two(int n)
{
    return n > 0 && (n & (n - 1)) == 0;
}

/* What makes no sense over mpi.size processes; CLI_USAGE after saying so. */
static int check(const cli_options *o, const char *program)
{
    if (o->sweep_count) {
        fprintf(stderr, "%s: --sweep trains one run after another; run it with "
                "the trainer without _mpi, or start one job per value\n", program);
        return CLI_USAGE;
    }
    if (mpi.size > o->shards) {
        fprintf(stderr, "%s: %d processes but --shards %d: every process trains "
                "whole shards of each batch (give --shards %d or more)\n",
                program, mpi.size, o->shards, mpi.size);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* Threads per process when --threads is not given: the machine's CPUs
 * shared among the processes on it. */
static int threads_here(void)
{
    MPI_Comm local;
    int here = 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, mpi.rank,
                            MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_size(local, &here);
        MPI_Comm_free(&local);
    }
    cpus = cpus > 0 ? cpus / here : 1;
    return cpus < 1 ? 1 : cpus > CLI_MAX_THREADS ? CLI_MAX_THREADS : (int)cpus;
}

/* On process 0: how the run is spread, and a note when the shards per
 * process are not a power of two. */
static void describe(const cli_options *o)
{
    int per = 1;
    if (!o->quiet)
        printf("distributed: %d process%s x %d thread%s, batch %d in %d shards\n",
               mpi.size, mpi.size == 1 ? "" : "es", o->threads,
               o->threads == 1 ? "" : "s", o->train.batch, o->shards);
    if (o->shards % mpi.size == 0 && power_of_two(o->shards / mpi.size))
        return;
    while (mpi.size * per < o->shards)
        per *= 2;
    fprintf(stderr, "note: --shards %d over %d processes is not a power of two "
            "per process: the weights will differ in their last bits from one "
            "process's (--shards %d would keep them)\n", o->shards, mpi.size,
            mpi.size * per);
}

int cli_mpi_setup(int rc, cli_options *o, const char *program)
{
    int first, worst;
    nn_status st;
    if (rc == CLI_OK)
        rc = check(o, program);
    first = worst = rc;
    MPI_Bcast(&first, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (first != CLI_OK) { /* the same on every process: 0 has said it */
        mpi.speak = 0;
        return first;
    }
    if (worst != CLI_OK) /* this process, or another, alone */
        return worst;
    mpi.started = 1;
    if ((st = nn_mpi_group_create(MPI_COMM_WORLD, &mpi.group)) != NN_OK) {
        fprintf(stderr, "%s: the process group: %s\n", program, nn_status_str(st));
        return CLI_FAIL;
    }
    o->train.group = nn_mpi_group_get(mpi.group);
    if (!o->threads)
        o->threads = threads_here();
    if (mpi.rank == 0) {
        describe(o);
    } else {
        o->quiet = 1;
        o->no_diagnostics = 1;
        o->save_path = o->json_path = o->report_dir = o->checkpoint_path = NULL;
    }
    mpi.start = MPI_Wtime();
    return CLI_OK;
}

int cli_mpi_end(int rc, const cli_options *o)
{
    nn_mpi_stats stats;
    if (rc != CLI_OK && mpi.started) {
        show_held();
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, rc);
        return rc;
    }
    if (rc != CLI_OK)
        show_held();
    nn_mpi_group_stats(mpi.group, &stats);
    if (rc == CLI_OK && mpi.started && mpi.rank == 0 && !o->quiet)
        printf("exchange: %llu sums, %.1f MiB sent by process 0, %.2f s of "
               "%.2f s in sums\n", (unsigned long long)stats.calls,
               stats.bytes_sent / 1048576.0, stats.seconds, MPI_Wtime() - mpi.start);
    nn_mpi_group_destroy(mpi.group);
    MPI_Finalize();
    return rc;
}
