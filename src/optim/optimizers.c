/* The optimizers' update rules, each one loop (or one per case, so that
 * each vectorises) over flat arrays: parameters w, gradients g and the
 * optimizer's state buffers, all of the same layout. They follow PyTorch's
 * formulas and order of operations. */
#include "optim/optim.h"

#include <math.h>

/* PyTorch:  d = g + wd w;  v = mu v + d;        w -= lr v  (Nesterov: lr (d + mu v))
 * EMA:      d = g + wd w;  v = mu v + (1-mu) d; w -= lr v  (Nesterov: lr (d + mu v)) */
void nn_sgd_update(const nn_optim_settings *s, float *w, const float *g,
                   float *const *state, size_t n, float weight_decay, long t)
{
    const float mu = s->momentum, lr = s->lr, wd = weight_decay;
    const float keep = s->momentum_kind == NN_MOMENTUM_EMA ? 1.0f - mu : 1.0f;
    float *v = state[0];
    (void)t;
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++)
            w[i] -= lr * (g[i] + wd * w[i]);
    } else if (s->nesterov) {
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
void nn_adam_update(const nn_optim_settings *s, float *w, const float *g,
                    float *const *state, size_t n, float weight_decay, long t)
{
    float b1 = s->beta1, b2 = s->beta2, *m = state[0], *v = state[1];
    float correct1 = 1.0f - powf(b1, (float)t);
    float correct2 = 1.0f - powf(b2, (float)t);
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + weight_decay * w[i];
        m[i] = b1 * m[i] + (1.0f - b1) * d;
        v[i] = b2 * v[i] + (1.0f - b2) * d * d;
        w[i] -= s->lr * (m[i] / correct1) / (sqrtf(v[i] / correct2) + s->eps);
    }
}

/* d = g + wd w;  a = alpha a + (1-alpha) d^2;  r = sqrt(a) + eps
 * momentum 0: w -= lr d / r;  else b = mu b + d / r;  w -= lr b */
void nn_rmsprop_update(const nn_optim_settings *s, float *w, const float *g,
                       float *const *state, size_t n, float weight_decay,
                       long t)
{
    const float alpha = s->alpha, mu = s->momentum, lr = s->lr;
    float *a = state[0], *b = mu == 0.0f ? NULL : state[1]; /* b: momentum only */
    (void)t;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + weight_decay * w[i];
        float r;
        a[i] = alpha * a[i] + (1.0f - alpha) * d * d;
        r = sqrtf(a[i]) + s->eps;
        if (mu == 0.0f)
            w[i] -= lr * d / r;
        else {
            b[i] = mu * b[i] + d / r;
            w[i] -= lr * b[i];
        }
    }
}

/* w -= lr wd w (decoupled decay);  m = b1 m + (1-b1) g;
 * v = b2 v + (1-b2) g^2;  w -= (lr / (1-b1^t)) m / (sqrt(v) / sqrt(1-b2^t) + eps) */
void nn_adamw_update(const nn_optim_settings *s, float *w, const float *g,
                     float *const *state, size_t n, float weight_decay,
                     long t)
{
    float b1 = s->beta1, b2 = s->beta2, *m = state[0], *v = state[1];
    float keep = 1.0f - s->lr * weight_decay;
    float step = (float)(s->lr / (1.0 - pow(b1, (double)t)));
    float root2 = (float)sqrt(1.0 - pow(b2, (double)t));
    for (size_t i = 0; i < n; i++) {
        w[i] *= keep;
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= step * m[i] / (sqrtf(v[i]) / root2 + s->eps);
    }
}
