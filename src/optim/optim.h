/* What the optimizer object offers the library beyond nn.h: the update
 * rules (src/optim/optimizers.c) and what checkpoints need to save and
 * restore an optimizer (src/optim/optim.c). */
#ifndef NN_OPTIM_OPTIM_H
#define NN_OPTIM_OPTIM_H

#include <stddef.h>

#include "nn.h"

/* Most state buffers an optimizer keeps. */
#define NN_OPTIM_MAX_BUFFERS 2

/* State buffers (each as large as the parameters) an optimizer of kind
 * keeps; 0 for an unknown kind. */
int nn_optim_buffer_count(nn_optim_kind kind);
/* State buffer i (0-based) and the floats in it; NULL past the last. */
float *nn_optim_state(nn_optim *opt, int i, size_t *count);
/* Sets the number of steps taken (a resumed run's). */
void nn_optim_set_steps(nn_optim *opt, long steps);
/* 1 when b would train differently from a (the learning rate aside, which
 * schedules set): why says "momentum 0.9, not 0.5" for the first setting
 * that differs among those a's kind reads. */
int nn_optim_differs(const nn_optim_settings *a, const nn_optim_settings *b,
                     char *why, size_t why_size);

/* One step over n values of w with gradients g and the optimizer's state
 * buffers state[0], state[1] (same layout as w); weight_decay applies to
 * all n; t counts steps from 1. */
typedef void (*nn_optim_update_fn)(const nn_optim_settings *s, float *w,
                                   const float *g, float *const *state,
                                   size_t n, float weight_decay, long t);
/* SGD: d = g + wd w; v = mu v + d (EMA: mu v + (1-mu) d); w -= lr v, or
 * w -= lr (d + mu v) with Nesterov. state[0] = v. */
void nn_sgd_update(const nn_optim_settings *s, float *w, const float *g,
                   float *const *state, size_t n, float weight_decay, long t);
/* Adam: d = g + wd w; m = b1 m + (1-b1) d; v = b2 v + (1-b2) d^2;
 * w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). state = m, v. */
void nn_adam_update(const nn_optim_settings *s, float *w, const float *g,
                    float *const *state, size_t n, float weight_decay, long t);
/* RMSprop: d = g + wd w; a = alpha a + (1-alpha) d^2; b = mu b + d /
 * (sqrt(a) + eps); w -= lr b (w -= lr d / (sqrt(a) + eps) when mu = 0).
 * state = a, b. */
void nn_rmsprop_update(const nn_optim_settings *s, float *w, const float *g,
                       float *const *state, size_t n, float weight_decay,
                       long t);
/* AdamW: w -= lr wd w, then Adam's step on g without decay. state = m, v. */
void nn_adamw_update(const nn_optim_settings *s, float *w, const float *g,
                     float *const *state, size_t n, float weight_decay,
                     long t);

#endif /* NN_OPTIM_OPTIM_H */
