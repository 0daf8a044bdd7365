/* Optimizers: one loop each over flat (w, g, v) arrays of the same layout. */
#include "internal.h"

/* PyTorch:  d = g + wd w;  v = mu v + d;        w -= lr v  (Nesterov: lr (d + mu v))
 * EMA:      d = g + wd w;  v = mu v + (1-mu) d; w -= lr v  (Nesterov: lr (d + mu v)) */
void nn_sgd_update(const nn_sgd *opt, float *w, const float *g, float *v,
                   size_t n, float weight_decay)
{
    float mu = opt->momentum, lr = opt->lr;
    float keep = opt->kind == NN_MOMENTUM_EMA ? 1.0f - mu : 1.0f;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + weight_decay * w[i];
        if (mu == 0.0f) {
            w[i] -= lr * d;
            continue;
        }
        v[i] = mu * v[i] + keep * d;
        w[i] -= lr * (opt->nesterov ? d + mu * v[i] : v[i]);
    }
}
