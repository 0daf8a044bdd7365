/* libnn_mpi: an nn_group over MPI, for training one net on several
 * processes (nn_train_config.group). Optional: built only where CMake finds
 * MPI; libnn itself never depends on it. See docs/DISTRIBUTED.md. */
#ifndef NN_MPI_H
#define NN_MPI_H

#include <stdint.h>

#include <mpi.h>

#include "nn.h"
#include "nn/advanced.h"

typedef struct nn_mpi_group nn_mpi_group;

/* What a group's sums have cost this process so far. */
typedef struct {
    double seconds;      /* wall time inside sum_float and sum_double */
    uint64_t bytes_sent; /* bytes this process sent to the others */
    uint64_t calls;      /* sums made */
} nn_mpi_stats;

/* A group of comm's processes (collective over comm, which is duplicated,
 * with MPI errors returned as NN_EIO instead of aborting); *out is NULL on
 * failure. Its sums are bit-deterministic: each process adds the values of
 * one piece of the vector from every process as nn_group's pairwise tree
 * in rank order, then every process gets every finished piece. */
nn_status nn_mpi_group_create(MPI_Comm comm, nn_mpi_group **out);
/* The nn_group to put in nn_train_config.group (valid until destroy). */
const nn_group *nn_mpi_group_get(const nn_mpi_group *g);
/* The counters since create (a process's own figures). */
void nn_mpi_group_stats(const nn_mpi_group *g, nn_mpi_stats *out);
/* Frees the group and its communicator (collective; NULL is allowed). */
void nn_mpi_group_destroy(nn_mpi_group *g);

#endif /* NN_MPI_H */
