/* libnn's optimizers and learning-rate schedules (part of nn.h). */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <stddef.h>

#include "nn/core.h"
#include "nn/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* -------------------------------------------------------------- optimizers
 * An optimizer is its own object over a built net's flat parameters and
 * gradients: it owns its state (momentum, moments) and its step count, so a
 * net needs none of it to run. Each kind is one update function over flat
 * arrays and one entry in the table of src/optim/optim.c. */

/* The optimizers. */
typedef enum {
    NN_OPTIM_SGD = 0, /* with momentum, Nesterov, coupled weight decay */
    NN_OPTIM_ADAM,    /* coupled weight decay, as torch.optim.Adam */
    NN_OPTIM_RMSPROP, /* as torch.optim.RMSprop (not centered) */
    NN_OPTIM_ADAMW    /* decoupled weight decay, as torch.optim.AdamW */
} nn_optim_kind;

/* Momentum conventions for SGD, with d = g + wd w the decayed gradient. */
typedef enum {
    NN_MOMENTUM_PYTORCH = 0, /* PyTorch's: v = mu v + d; w -= lr v */
    NN_MOMENTUM_EMA          /* exponential average: v = mu v + (1-mu) d;
                                w -= lr v */
} nn_momentum_kind;

/* Settings of every optimizer; each reads the fields it uses. */
typedef struct {
    nn_optim_kind kind;
    float lr;
    float momentum;               /* SGD, RMSprop */
    nn_momentum_kind momentum_kind; /* SGD */
    int nesterov;                 /* SGD: w -= lr (d + mu v) */
    float beta1, beta2;           /* Adam, AdamW */
    float alpha;                  /* RMSprop smoothing of g^2 */
    float eps;                    /* Adam, AdamW, RMSprop */
    float weight_decay;           /* coupled (g + wd w), decoupled for AdamW */
    int decay_all; /* 1: decay biases and batchnorm too; 0 (default): weights only */
} nn_optim_settings;

/* An optimizer bound to the parameters of one built net. */
typedef struct nn_optim nn_optim;

/* PyTorch's defaults for kind: lr 0.01 (SGD, RMSprop) or 0.001 (Adam,
 * AdamW), betas 0.9 and 0.999, alpha 0.99, eps 1e-8, AdamW decay 0.01. */
nn_optim_settings nn_optim_defaults(nn_optim_kind kind);
/* The optimizer's name ("sgd", "adam", "rmsprop", "adamw"), NULL if none. */
const char *nn_optim_name(nn_optim_kind kind);
/* The kind called name; NN_EINVAL when there is none. */
nn_status nn_optim_from_name(const char *name, nn_optim_kind *out);
/* NN_EINVAL unless the settings are usable (finite, in range). */
nn_status nn_optim_check(const nn_optim_settings *s);
/* An optimizer for the parameters of a net built for training, with zeroed
 * state; NN_ESTATE for a net built for inference. */
nn_status nn_optim_create(nn_net *net, const nn_optim_settings *s,
                          nn_optim **out);
/* Frees the optimizer (NULL is allowed). */
void nn_optim_destroy(nn_optim *opt);
/* One step over every parameter of net (the net it was created for),
 * weights decayed and the rest (biases, batchnorm) only with decay_all.
 * It also advances the net's noise counter, so that the next forward pass
 * draws new dropout masks: one set of masks per step. */
nn_status nn_optim_step(nn_optim *opt, nn_net *net);
/* Sets the learning rate of the next steps (schedules call this). */
void nn_optim_set_lr(nn_optim *opt, float lr);
/* The optimizer's settings. */
const nn_optim_settings *nn_optim_get_settings(const nn_optim *opt);
/* Steps taken so far. */
long nn_optim_steps(const nn_optim *opt);

/* Learning-rate schedules. */
typedef enum {
    NN_SCHEDULE_CONSTANT = 0, /* lr */
    NN_SCHEDULE_STEP,         /* lr gamma^floor(epoch / step_epochs) */
    NN_SCHEDULE_EXPONENTIAL,  /* lr gamma^epoch */
    NN_SCHEDULE_COSINE        /* min + (lr - min) (1 + cos(pi t / T)) / 2 */
} nn_schedule_kind;

/* A schedule; warm-up ramps linearly from 0 over warmup_epochs first. */
typedef struct {
    nn_schedule_kind kind;
    float lr;           /* base learning rate */
    float gamma;        /* STEP and EXPONENTIAL factor */
    int step_epochs;    /* STEP period */
    int total_epochs;   /* COSINE length T */
    float min_lr;       /* COSINE floor */
    float warmup_epochs;
} nn_schedule;

/* Learning rate at time t, measured in epochs (fractions allowed). */
float nn_schedule_lr(const nn_schedule *s, double t);

#ifdef __cplusplus
}
#endif

#endif /* NN_OPTIM_H */
