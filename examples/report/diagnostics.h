/* Training-health diagnostics of the command-line trainers: per layer and
 * epoch, weight and gradient norms, the update-to-weight ratio and the
 * share of dead relu units, and warnings in plain words (loss stuck at
 * chance, vanishing or exploding gradients, dead relus, overfitting).
 * Not part of libnn.
 *
 * Cheap by design: once per epoch a fixed probe (the first
 * DIAG_PROBE_IMAGES training images, in passes of the net's max batch)
 * goes through the net forward and backward in training mode, without an optimizer
 * step, with the batchnorm running statistics and the dropout counter
 * saved and restored; plus one copy of the weights per epoch. */
#ifndef NN_DIAGNOSTICS_H
#define NN_DIAGNOSTICS_H

#include <stdio.h>

#include "nn.h"
#include "report_records.h"

#define DIAG_PROBE_IMAGES 256 /* images in the probe, at most */
#define DIAG_MAX_WARNINGS 32  /* warnings a run keeps */
#define DIAG_JSON_EPOCHS 100  /* epochs of statistics metrics.json carries */

/* One layer's health after an epoch; NaN where it does not apply. */
typedef struct {
    double weight_norm;  /* |w|: the weights (the decayed part: no biases) */
    double grad_norm;    /* |dL/dw| on the probe (batch-mean loss) */
    double update_ratio; /* |w_after - w_before| / |w_before| over the epoch */
    double dead;         /* relu, leaky relu: share of channels (dense: units)
                            never positive on any probe image or position */
} diag_layer;

/* What a warning is about. */
typedef enum {
    DIAG_CHANCE, DIAG_VANISHING, DIAG_EXPLODING, DIAG_DEAD, DIAG_OVERFITTING
} diag_kind;

/* One warning as printed. */
typedef struct {
    int epoch;      /* 1-based: after which epoch it was raised */
    diag_kind kind;
    char text[640];
} diag_warning;

/* The diagnostics of one run. */
typedef struct diag_run {
    int layers, epochs;
    diag_layer *stats;     /* (epochs, layers) */
    unsigned char *known;  /* (epochs): 1 when stats were measured */
    float *before;         /* (params): weights at the start of the epoch */
    float *state;          /* (state count): batchnorm statistics, saved */
    unsigned char *alive;  /* (relu channels, layer after layer): seen
                              positive in the probe */
    int *indices, *labels; /* (probe) */
    int probe;             /* images in the probe: whole chunks */
    int chunk;             /* images per pass: the net's max batch at most */
    diag_warning warnings[DIAG_MAX_WARNINGS];
    int warning_count;
    unsigned said;         /* bit per kind already said */
    unsigned char *dead_said; /* (layers): 1 once its dead units were said */
} diag_run;

/* Sets d up for net (built for training) over `epochs` epochs and a probe
 * of the first training images; 1 on success, 0 when out of memory. */
int diag_init(diag_run *d, nn_net *net, const nn_dataset *train, int epochs);
/* Frees what diag_init allocated (a zeroed d is allowed). */
void diag_free(diag_run *d);
/* Remembers the weights at the start of an epoch. */
void diag_epoch_start(diag_run *d, nn_net *net);
/* Measures the net after epoch `epoch` (0-based) on the probe. */
nn_status diag_epoch_end(diag_run *d, nn_net *net, const nn_dataset *train,
                         int epoch);
/* Checks the run after epoch `epoch` (records of epochs first..epoch) and
 * prints each new warning to f (NULL: none printed); returns how many. */
int diag_check(diag_run *d, nn_net *net, const report_epoch *epochs,
               int first, int epoch, int classes, FILE *f);
/* The statistics of layer i after epoch e; NULL when unknown. */
const diag_layer *diag_stats(const diag_run *d, int e, int i);

#endif
