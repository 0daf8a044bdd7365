/* An nn_group over MPI (nn_mpi.h): bandwidth-optimal sums with a fixed
 * order of additions, so that every process ends with the same bits
 * whatever order MPI's own reductions would have used.
 *
 * A sum over P processes of a vector of n values, in three moves:
 *   1. cut the vector into P pieces (piece j: [n*j/P, n*(j+1)/P));
 *      MPI_Alltoallv sends piece j of every process to process j, which
 *      holds them as P rows (P, m_j), in rank order;
 *   2. process j adds its rows as the pairwise tree of nn_group
 *      (0+1, 2+3, ..., then those sums pairwise, an odd last one carried up);
 *   3. MPI_Allgatherv gives every process every finished piece.
 * Each process sends n - m_j values in 1 and (P-1) * m_j in 3: about
 * 2 (P-1)/P n values, as a ring all-reduce, and no process adds more than
 * its own piece's rows. Not part of libnn.a (it needs MPI). */
#include "nn_mpi.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"

/* How the sums see a value type: MPI's name for it, its size, and the
 * pairwise tree over `count` rows of n values, `stride` apart, left in row
 * 0: libnn's own (core/threads.h), the one its shards are added with. */
typedef struct {
    MPI_Datatype type;
    size_t size;
    void (*tree)(void *rows, int count, size_t stride, size_t n);
} value_type;

struct nn_mpi_group {
    nn_group group;   /* what nn_mpi_group_get hands out; ctx is this */
    MPI_Comm comm;    /* our own duplicate, errors returned */
    int *seg_count;   /* (P) values of piece j */
    int *seg_start;   /* (P) where piece j begins in the vector */
    int *row_count;   /* (P) this process's piece length, P times */
    int *row_start;   /* (P) row j of the scratch: j * its piece length */
    void *scratch;    /* (P, m) rows of this process's piece */
    size_t scratch_bytes;
    nn_mpi_stats stats;
};

static void tree_floats(void *rows, int count, size_t stride, size_t n)
{
    nn_tree_floats(rows, count, stride, 0, n);
}

static void tree_doubles(void *rows, int count, size_t stride, size_t n)
{
    nn_tree_doubles(rows, count, stride, n);
}

/* Fills the piece and row tables for n values; returns this process's
 * piece length. */
static int plan(nn_mpi_group *g, int n)
{
    int p = g->group.size, mine;
    for (int j = 0; j < p; j++) {
        g->seg_start[j] = (int)((long long)n * j / p);
        g->seg_count[j] = (int)((long long)n * (j + 1) / p) - g->seg_start[j];
    }
    mine = g->seg_count[g->group.rank];
    for (int j = 0; j < p; j++) {
        g->row_count[j] = mine;
        g->row_start[j] = j * mine; /* <= n: mine <= n / p + 1 */
    }
    return mine;
}

/* The sum of `count` values of type t over the group, into values. */
static nn_status group_sum(nn_mpi_group *g, void *values, size_t count,
                           const value_type *t)
{
    int p = g->group.size, mine;
    double start;
    size_t need;
    if (count > INT_MAX || (count && !values))
        return NN_EINVAL;
    g->stats.calls++;
    if (p == 1 || count == 0)
        return NN_OK;
    start = MPI_Wtime();
    mine = plan(g, (int)count);
    need = (size_t)p * (size_t)mine * t->size;
    if (need > g->scratch_bytes) { /* grows only for a larger count */
        void *grown = realloc(g->scratch, need);
        if (!grown)
            return NN_ENOMEM;
        g->scratch = grown;
        g->scratch_bytes = need;
    }
    if (MPI_Alltoallv(values, g->seg_count, g->seg_start, t->type, g->scratch,
                      g->row_count, g->row_start, t->type, g->comm) != MPI_SUCCESS)
        return NN_EIO;
    /* the P rows of this piece, added as nn_group's tree into row 0 */
    t->tree(g->scratch, p, (size_t)mine, (size_t)mine);
    if (MPI_Allgatherv(g->scratch, mine, t->type, values, g->seg_count,
                       g->seg_start, t->type, g->comm) != MPI_SUCCESS)
        return NN_EIO;
    g->stats.seconds += MPI_Wtime() - start;
    g->stats.bytes_sent += ((count - (size_t)mine) + (size_t)(p - 1) * (size_t)mine) *
                           t->size;
    return NN_OK;
}

static nn_status sum_float(void *ctx, float *values, size_t count)
{
    static const value_type floats = {MPI_FLOAT, sizeof(float), tree_floats};
    return group_sum(ctx, values, count, &floats);
}

static nn_status sum_double(void *ctx, double *values, size_t count)
{
    static const value_type doubles = {MPI_DOUBLE, sizeof(double), tree_doubles};
    return group_sum(ctx, values, count, &doubles);
}

nn_status nn_mpi_group_create(MPI_Comm comm, nn_mpi_group **out)
{
    nn_mpi_group *g;
    int ready = 0, rank, size;
    if (!out)
        return NN_EINVAL;
    *out = NULL;
    if (MPI_Initialized(&ready) != MPI_SUCCESS || !ready || comm == MPI_COMM_NULL)
        return NN_EINVAL;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS ||
        MPI_Comm_size(comm, &size) != MPI_SUCCESS)
        return NN_EIO;
    g = calloc(1, sizeof *g);
    if (!g)
        return NN_ENOMEM;
    g->seg_count = malloc(4 * sizeof(int) * (size_t)size);
    if (!g->seg_count) {
        free(g);
        return NN_ENOMEM;
    }
    g->seg_start = g->seg_count + size;
    g->row_count = g->seg_start + size;
    g->row_start = g->row_count + size;
    if (MPI_Comm_dup(comm, &g->comm) != MPI_SUCCESS) {
        free(g->seg_count);
        free(g);
        return NN_EIO;
    }
    if (MPI_Comm_set_errhandler(g->comm, MPI_ERRORS_RETURN) != MPI_SUCCESS) {
        nn_mpi_group_destroy(g);
        return NN_EIO;
    }
    g->group = (nn_group){rank, size, g, sum_float, sum_double};
    *out = g;
    return NN_OK;
}

const nn_group *nn_mpi_group_get(const nn_mpi_group *g)
{
    return g ? &g->group : NULL;
}

void nn_mpi_group_stats(const nn_mpi_group *g, nn_mpi_stats *out)
{
    if (out)
        *out = g ? g->stats : (nn_mpi_stats){0, 0, 0};
}

void nn_mpi_group_destroy(nn_mpi_group *g)
{
    if (!g)
        return;
    MPI_Comm_free(&g->comm);
    free(g->scratch);
    free(g->seg_count);
    free(g);
}
