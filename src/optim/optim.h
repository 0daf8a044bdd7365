/* What the optimizer object offers the library beyond nn.h: what
 * checkpoints need to restore one (src/optim/optim.c). */
#ifndef NN_OPTIM_OPTIM_H
#define NN_OPTIM_OPTIM_H

#include <stddef.h>

#include "nn.h"

/* Most state buffers an optimizer keeps. */
#define NN_OPTIM_MAX_BUFFERS 2

/* State buffers (each as large as the parameters) an optimizer of kind
 * keeps; 0 for an unknown kind. */
int nn_optim_buffer_count(nn_optimizer_kind kind);
/* Sets the number of steps taken (a resumed run's). */
void nn_optim_set_steps(nn_optim *opt, long steps);
/* 1 when b would train differently from a (the learning rate aside, which
 * schedules set): why says "momentum 0.9, not 0.5" for the first setting
 * that differs among those a's kind reads. */
int nn_optim_differs(const nn_optim_settings *a, const nn_optim_settings *b,
                     char *why, size_t why_size);

#endif /* NN_OPTIM_OPTIM_H */
