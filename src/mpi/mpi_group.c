/* An nn_group over MPI (libnn_mpi.a; include/nn_mpi.h).
 *
 * A sum of count values over P processes, with the same bits on every
 * process and for every MPI implementation:
 *   1. the values are cut into P segments (segment j: count*j/P up to
 *      count*(j+1)/P); MPI_Alltoallv sends segment j of every process to
 *      process j, which receives P copies of its segment in rank order;
 *   2. process j adds them as the pairwise tree of nn_group (the tree of
 *      nn_tree_floats / nn_tree_doubles, the one the net's shards use);
 *   3. MPI_Allgatherv brings every finished segment to every process.
 * Each process sends (P-1)/P of the values twice, as a ring all-reduce
 * does; MPI_Allreduce is not used because MPI promises no order of its
 * additions. */
#include "nn_mpi.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"

struct nn_mpi_group {
    nn_group group;
    MPI_Comm comm;
    int rank, size;
    unsigned char *received; /* (size, largest segment) values */
    size_t capacity;         /* bytes of received */
    int *send_counts, *send_starts, *recv_counts, *recv_starts; /* (size) */
    nn_mpi_stats stats;
};

/* The values of one element type. */
typedef struct {
    MPI_Datatype type;
    size_t size;
    /* parts (count, stride) -> parts[0] = their tree, for n values */
    void (*tree)(void *parts, int count, size_t stride, size_t n);
} value_kind;

static void tree_floats(void *parts, int count, size_t stride, size_t n)
{
    nn_tree_floats(parts, count, stride, 0, n);
}

static void tree_doubles(void *parts, int count, size_t stride, size_t n)
{
    nn_tree_doubles(parts, count, stride, n);
}

static const value_kind FLOATS = {MPI_FLOAT, sizeof(float), tree_floats};
static const value_kind DOUBLES = {MPI_DOUBLE, sizeof(double), tree_doubles};

/* Start of segment j of count values over size processes. */
static size_t segment_start(size_t count, int size, int j)
{
    return count / (size_t)size * (size_t)j +
           count % (size_t)size * (size_t)j / (size_t)size;
}

static nn_status sum(nn_mpi_group *g, void *values, size_t count,
                     const value_kind *kind)
{
    size_t mine, need;
    double start;
    int ok;
    if (g->size == 1)
        return NN_OK; /* the tree of one value is that value */
    if (count > INT_MAX)
        return NN_EOVERFLOW;
    mine = segment_start(count, g->size, g->rank + 1) -
           segment_start(count, g->size, g->rank);
    need = (mine ? mine : 1) * (size_t)g->size * kind->size;
    if (need > g->capacity) {
        unsigned char *grown = realloc(g->received, need);
        if (!grown)
            return NN_ENOMEM;
        g->received = grown;
        g->capacity = need;
    }
    for (int j = 0; j < g->size; j++) {
        size_t first = segment_start(count, g->size, j);
        g->send_starts[j] = (int)first;
        g->send_counts[j] = (int)(segment_start(count, g->size, j + 1) - first);
        g->recv_counts[j] = (int)mine;
        g->recv_starts[j] = (int)mine * j;
    }
    start = MPI_Wtime();
    ok = MPI_Alltoallv(values, g->send_counts, g->send_starts, kind->type,
                       g->received, g->recv_counts, g->recv_starts, kind->type,
                       g->comm) == MPI_SUCCESS;
    if (ok && mine)
        kind->tree(g->received, g->size, mine, mine);
    ok = ok && MPI_Allgatherv(g->received, (int)mine, kind->type, values,
                              g->send_counts, g->send_starts, kind->type,
                              g->comm) == MPI_SUCCESS;
    g->stats.seconds += MPI_Wtime() - start;
    g->stats.calls++;
    /* the other segments once, then this one to every other process */
    g->stats.bytes_sent += (count - mine + mine * (size_t)(g->size - 1)) * kind->size;
    return ok ? NN_OK : NN_EIO;
}

static nn_status sum_float(void *ctx, float *values, size_t count)
{
    return sum(ctx, values, count, &FLOATS);
}

static nn_status sum_double(void *ctx, double *values, size_t count)
{
    return sum(ctx, values, count, &DOUBLES);
}

nn_status nn_mpi_group_create(MPI_Comm comm, nn_mpi_group **out)
{
    nn_mpi_group *g;
    if (!out)
        return NN_EINVAL;
    *out = NULL;
    g = calloc(1, sizeof *g);
    if (!g)
        return NN_ENOMEM;
    if (MPI_Comm_dup(comm, &g->comm) != MPI_SUCCESS) {
        free(g);
        return NN_EIO;
    }
    MPI_Comm_set_errhandler(g->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g->comm, &g->rank);
    MPI_Comm_size(g->comm, &g->size);
    g->send_counts = malloc(4 * sizeof(int) * (size_t)g->size);
    if (!g->send_counts) {
        nn_mpi_group_destroy(g);
        return NN_ENOMEM;
    }
    g->send_starts = g->send_counts + g->size;
    g->recv_counts = g->send_starts + g->size;
    g->recv_starts = g->recv_counts + g->size;
    g->group = (nn_group){g->rank, g->size, g, sum_float, sum_double};
    *out = g;
    return NN_OK;
}

const nn_group *nn_mpi_group_get(const nn_mpi_group *g)
{
    return g ? &g->group : NULL;
}

void nn_mpi_group_stats(const nn_mpi_group *g, nn_mpi_stats *out)
{
    if (g && out)
        *out = g->stats;
}

void nn_mpi_group_destroy(nn_mpi_group *g)
{
    if (!g)
        return;
    MPI_Comm_free(&g->comm);
    free(g->send_counts);
    free(g->received);
    free(g);
}
