/* Optimizers, one loop each over flat (w, g, v) arrays of the same layout,
 * and learning-rate schedules. */
#include "internal.h"

#include <math.h>

/* PyTorch:  d = g + wd w;  v = mu v + d;        w -= lr v  (Nesterov: lr (d + mu v))
 * EMA:      d = g + wd w;  v = mu v + (1-mu) d; w -= lr v  (Nesterov: lr (d + mu v)) */
void nn_sgd_update(const nn_sgd *opt, float *w, const float *g, float *v,
                   size_t n, float weight_decay)
{
    const float mu = opt->momentum, lr = opt->lr, wd = weight_decay;
    const float keep = opt->kind == NN_MOMENTUM_EMA ? 1.0f - mu : 1.0f;
    /* One branch-free loop per case, so that each one vectorises. */
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++)
            w[i] -= lr * (g[i] + wd * w[i]);
    } else if (opt->nesterov) {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i];
            v[i] = mu * v[i] + keep * d;
            w[i] -= lr * (d + mu * v[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            v[i] = mu * v[i] + keep * (g[i] + wd * w[i]);
            w[i] -= lr * v[i];
        }
    }
}

/* m = b1 m + (1-b1) d;  v = b2 v + (1-b2) d^2;  d = g + wd w
 * w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) */
void nn_adam_update(const nn_adam *opt, float *w, const float *g, float *m,
                    float *v, size_t n, float weight_decay, long t)
{
    float b1 = opt->beta1, b2 = opt->beta2;
    float correct1 = 1.0f - powf(b1, (float)t);
    float correct2 = 1.0f - powf(b2, (float)t);
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + weight_decay * w[i];
        m[i] = b1 * m[i] + (1.0f - b1) * d;
        v[i] = b2 * v[i] + (1.0f - b2) * d * d;
        w[i] -= opt->lr * (m[i] / correct1) /
                (sqrtf(v[i] / correct2) + opt->eps);
    }
}

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
