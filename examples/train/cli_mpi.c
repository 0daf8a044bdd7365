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
    int agreed;      /* ... unless every process agreed on it */
    double start;    /* MPI_Wtime at the end of cli_mpi_setup */
} mpi = {0, 1, NULL, NULL, -1, 1, 0, 0, 0.0};

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

/* The largest power of two below n (n >= 2). */
static int power_below(int n)
{
    int p = 1;
    while (2 * p < n)
        p *= 2;
    return p;
}

/* 1 when processes [first, last) of `size`, each adding its own shards as
 * a tree and then their sums as a tree (nn_group), make the very tree over
 * [their shards) that one process makes: every split of the processes'
 * tree falls where the one-process tree splits. True when shards / size
 * is a power of two, and for some other counts (4 shards on 3 processes:
 * 1 + 1 + 2, or 12 on 3); false for 8 on 3 (2 + 3 + 3). */
static int same_tree(int shards, int size, int first, int last)
{
    int mid, a, b;
    if (last - first == 1)
        return 1;
    mid = first + power_below(last - first);
    a = nn_shard_start(shards, size, first);
    b = nn_shard_start(shards, size, last); /* b - a >= last - first >= 2 */
    return nn_shard_start(shards, size, mid) == a + power_below(b - a) &&
           same_tree(shards, size, first, mid) && same_tree(shards, size, mid, last);
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

/* On process 0: how the run is spread, and a note when the processes
 * add the shards in another order than one process. */
static void describe(const cli_options *o)
{
    int keep = o->shards;
    if (!o->quiet)
        printf("distributed: %d process%s x %d thread%s, batch %d in %d shards\n",
               mpi.size, mpi.size == 1 ? "" : "es", o->threads,
               o->threads == 1 ? "" : "s", o->train.batch, o->shards);
    if (same_tree(o->shards, mpi.size, 0, mpi.size))
        return;
    while (keep < NN_SHARDS_MAX && !same_tree(keep, mpi.size, 0, mpi.size))
        keep++; /* size * a power of two is at most 2 * shards */
    fprintf(stderr, "note: --shards %d over %d processes adds the shards in "
            "another order than one process: the weights will differ in "
            "their last bits from one process's (--shards %d would keep them)\n",
            o->shards, mpi.size, keep);
}

/* Every process's rc, agreed (collective): process 0's when it failed
 * (every process has failed alike and 0 has said why), else the worst;
 * a failure agreed on ends without MPI_Abort. */
int cli_mpi_agree(int rc)
{
    int first = rc, worst = rc;
    MPI_Bcast(&first, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (first != CLI_OK)
        mpi.speak = 0; /* this process's message is process 0's */
    if (first != CLI_OK || worst != CLI_OK)
        mpi.agreed = 1;
    return first != CLI_OK ? first : worst;
}

int cli_mpi_setup(int rc, cli_options *o, const char *program)
{
    nn_status st;
    if (rc == CLI_OK)
        rc = check(o, program);
    if ((rc = cli_mpi_agree(rc)) != CLI_OK)
        return rc;
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
    if (rc != CLI_OK && mpi.started && !mpi.agreed) {
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
