/* libnn's training loop (part of nn.h): one epoch over a dataset,
 * evaluation, and a run's memory planned before allocating. */
#ifndef NN_TRAIN_H
#define NN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "nn/core.h"
#include "nn/data.h"
#include "nn/net.h"
#include "nn/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Progress inside an epoch, reported after every batch. */
typedef struct {
    int epoch, epochs;         /* epoch is 0-based */
    long done, total;          /* images done in this epoch, and in all */
    double loss;               /* mean loss so far this epoch */
    double seconds;            /* since the epoch started */
} nn_progress;

/* Sums across processes, for training one net on several (defined in
 * nn/advanced.h; libnn_mpi's nn_mpi.h makes one over MPI). */
typedef struct nn_group nn_group;

/* Settings of a training run. */
typedef struct {
    int epochs;
    int batch;                 /* minibatch size (<= the net's max batch) */
    uint64_t seed;             /* shuffling and augmentation */
    nn_optim_settings optim;   /* to create the optimizer with; its lr is
                                  taken from the schedule */
    nn_schedule schedule;
    int augment_flip;          /* random horizontal flips */
    int augment_crop;          /* random crops after zero-padding this much */
    void (*on_batch)(void *user, const nn_progress *p); /* may be NULL */
    void *user;
    /* Training over several processes (NULL: alone). Every process runs
     * nn_train_epoch with the same settings, data and rng; each computes
     * its own shards of every batch (nn/advanced.h's nn_net_set_shards: with
     * shards/size a power of two, the weights are those of one process, bit
     * for bit). The stats are the whole group's; on_batch sees this
     * process's part. */
    const nn_group *group;
} nn_train_config;

/* What one epoch gave. */
typedef struct {
    int epoch;
    float lr;                  /* learning rate at the end of the epoch */
    double train_loss, train_accuracy;
    double seconds, images_per_second;
    long images;               /* images trained on (see nn_train_epoch) */
    char message[192];         /* after NN_ENUMERIC: where it was first seen */
} nn_epoch_stats;

/* Defaults: 10 epochs of batch 64, SGD momentum 0.9, weight decay 5e-4,
 * lr 0.05 with a cosine schedule. */
nn_train_config nn_train_defaults(void);
/* Trains one epoch (0-based `epoch`) over a shuffled copy of the set; rng
 * carries the shuffling state from epoch to epoch. A NaN or infinity in a
 * step's loss or gradients stops it with NN_ENUMERIC before that step
 * updates any weight, and stats->message says where it was first seen
 * (nn_net_check_finite). A last batch smaller than nn_net_min_batch (one
 * image, with batchnorm after a dense layer) is left out of that epoch:
 * the order is shuffled, so it is another image every epoch. */
nn_status nn_train_epoch(nn_net *net, nn_optim *opt, const nn_dataset *train,
                         const nn_train_config *cfg, int epoch, nn_rng *rng,
                         nn_epoch_stats *stats);
/* Runs the set through the net in inference mode, batch by batch: mean
 * loss, accuracy and (when predicted is not NULL) each sample's class. The
 * net's mode is restored afterwards. */
nn_status nn_evaluate(nn_net *net, const nn_dataset *d, int *predicted,
                      double *loss, double *accuracy);
/* Bytes that training net (its layers added, not built yet) with batches of
 * up to max_batch would allocate: the net built for training (with the
 * threads set so far) and an optimizer of the given kind, planned without
 * allocating anything. NN_EOVERFLOW when the sizes overflow, NN_ESHAPE (or
 * the layers' error) when the layers do not fit the input. */
nn_status nn_train_memory(nn_net *net, int max_batch,
                          nn_optim_kind optimizer, size_t *bytes);

#ifdef __cplusplus
}
#endif

#endif /* NN_TRAIN_H */
