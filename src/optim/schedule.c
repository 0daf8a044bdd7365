/* Learning-rate schedules: the rate as a function of time in epochs. */
#include "nn.h"

#include <math.h>

float nn_schedule_lr(const nn_schedule *s, double t)
{
    double lr = s->lr;
    if (t < 0)
        t = 0;
    switch (s->kind) {
    case NN_SCHEDULE_CONSTANT:
        break;
    case NN_SCHEDULE_STEP:
        if (s->step_epochs > 0)
            lr *= pow(s->gamma, floor(t / s->step_epochs));
        break;
    case NN_SCHEDULE_EXPONENTIAL:
        lr *= pow(s->gamma, floor(t));
        break;
    case NN_SCHEDULE_COSINE:
        if (s->total_epochs > 0) {
            double progress = t < s->total_epochs ? t / s->total_epochs : 1.0;
            lr = s->min_lr + (lr - s->min_lr) * 0.5 *
                                 (1.0 + cos(3.141592653589793 * progress));
        }
        break;
    }
    if (s->warmup_epochs > 0 && t < s->warmup_epochs)
        lr *= t / s->warmup_epochs;
    return (float)lr;
}
