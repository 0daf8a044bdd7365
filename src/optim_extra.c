/* RMSprop and AdamW: one loop each over flat arrays w, g and the
 * optimizer's state buffers, all of the same layout. Both follow PyTorch
 * 1.13 (torch.optim.RMSprop with centered=False, torch.optim.AdamW)
 * operation by operation, tensor operations in float; the scalars PyTorch
 * computes in double from the Python numbers (1 - beta, bias corrections,
 * lr / correction, 1 - lr wd) are computed in double here too, from the
 * decimals the settings most likely came from, then rounded to float as
 * PyTorch does when it applies them to a float tensor.
 *
 * weight_decay is the argument, not s->weight_decay: the caller passes 0
 * for the parameters that are not decayed (see decay_all). */
#include "internal.h"

#include <math.h>

/* The shortest decimal (fewest places, up to 12) that rounds to v, as a
 * double: 0.99f gives 0.99, not 0.9900000095. PyTorch's 1 - alpha is
 * 1 - 0.99 = 0.01 in double; 1 - 0.99f would be 0.0099999905, a relative
 * error of 1e-6 that momentum and cancellation grow to 1e-5. */
static double decimal_of(float v)
{
    double scale = 1.0;
    for (int places = 0; places <= 12; places++, scale *= 10.0) {
        double d = round((double)v * scale) / scale;
        if ((float)d == v)
            return d;
    }
    return v;
}

void nn_rmsprop_update(const nn_optim_settings *s, float *w, const float *g,
                       float *const *state, size_t n, float weight_decay,
                       long t)
{
    const float alpha = s->alpha, keep = (float)(1.0 - decimal_of(alpha));
    const float lr = s->lr, eps = s->eps, mu = s->momentum;
    float *restrict sq = state[0]; /* (n) running mean of d^2 */
    (void)t;
    if (mu > 0.0f) {
        float *restrict buf = state[1]; /* (n) momentum of d / avg */
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + weight_decay * w[i];
            sq[i] = sq[i] * alpha + keep * d * d;
            buf[i] = buf[i] * mu + d / (sqrtf(sq[i]) + eps);
            w[i] -= lr * buf[i];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + weight_decay * w[i];
            sq[i] = sq[i] * alpha + keep * d * d;
            w[i] -= lr * d / (sqrtf(sq[i]) + eps);
        }
    }
}

/* w *= 1 - lr wd (decoupled decay), then Adam without decay:
 * m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 * w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * state[0] = m, state[1] = v; t counts steps from 1 */
void nn_adamw_update(const nn_optim_settings *s, float *w, const float *g,
                     float *const *state, size_t n, float weight_decay,
                     long t)
{
    const float b1 = s->beta1, b2 = s->beta2, eps = s->eps;
    const double beta1 = decimal_of(b1), beta2 = decimal_of(b2);
    const double lr = decimal_of(s->lr);
    const float keep1 = (float)(1.0 - beta1), keep2 = (float)(1.0 - beta2);
    const float shrink = (float)(1.0 - lr * decimal_of(weight_decay));
    const float step = (float)(lr / (1.0 - pow(beta1, (double)t)));
    const float correct2 = (float)sqrt(1.0 - pow(beta2, (double)t));
    float *restrict m = state[0]; /* (n) first moment */
    float *restrict v = state[1]; /* (n) second moment */
    for (size_t i = 0; i < n; i++) {
        w[i] *= shrink;
        m[i] = m[i] * b1 + keep1 * g[i];
        v[i] = v[i] * b2 + keep2 * g[i] * g[i];
        w[i] -= step * m[i] / (sqrtf(v[i]) / correct2 + eps);
    }
}
