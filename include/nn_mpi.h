/* libnn_mpi: an nn_group over MPI, for training one net on several
 * processes (nn_train_config.group). A separate library (libnn_mpi.a), so
 * that libnn.a itself needs only libc, libm and pthreads. See
 * docs/DISTRIBUTED.md. */
#ifndef NN_MPI_H
#define NN_MPI_H

#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_mpi_group nn_mpi_group;

/* What a group has done so far (this process's part). */
typedef struct {
    uint64_t calls;      /* sums made */
    uint64_t bytes_sent; /* bytes this process sent to the others */
    double seconds;      /* wall time spent in sums */
} nn_mpi_stats;

/* A group over comm's processes (duplicated, with MPI_ERRORS_RETURN, so a
 * failed call returns NN_EIO instead of aborting): each sum cuts the values
 * into one segment per process, sends segment j to process j, which adds
 * the processes' values in the tree order of nn_group, and gathers the
 * finished segments back to every process. Bandwidth like a ring
 * all-reduce, bits independent of MPI's own reduction order. */
nn_status nn_mpi_group_create(MPI_Comm comm, nn_mpi_group **out);
/* The nn_group to put in nn_train_config.group (valid while g lives). */
const nn_group *nn_mpi_group_get(const nn_mpi_group *g);
/* Counters of the sums made so far. */
void nn_mpi_group_stats(const nn_mpi_group *g, nn_mpi_stats *out);
/* Frees the group and its communicator (NULL is allowed). */
void nn_mpi_group_destroy(nn_mpi_group *g);

#ifdef __cplusplus
}
#endif

#endif /* NN_MPI_H */
