/* Softmax fused with cross-entropy, averaged over the batch.
 * Subtracting each row's maximum before exp keeps it finite. */
#include "layers/layer.h"

#include <math.h>

/* 1 when every label is a class: checked before anything is written. */
static int labels_ok(const int *labels, int n, int classes)
{
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return 0;
    return 1;
}

/* p = softmax(row) over classes values; *max is the row's maximum and the
 * return value sum_j exp(row[j] - max). */
static double softmax_row(const float *row, float *p, int classes, float *max)
{
    double sum = 0.0;
    *max = row[0];
    for (int j = 1; j < classes; j++)
        if (row[j] > *max)
            *max = row[j];
    for (int j = 0; j < classes; j++) {
        p[j] = expf(row[j] - *max);
        sum += p[j];
    }
    for (int j = 0; j < classes; j++)
        p[j] = (float)(p[j] / sum);
    return sum;
}

void nn_softmax_rows(const float *logits, float *probs, int n, int classes)
{
    float max;
    for (int i = 0; i < n; i++)
        softmax_row(logits + (size_t)i * classes, probs + (size_t)i * classes,
                    classes, &max);
}

/* probs = softmax(logits); loss = -1/n sum_i log probs[i, label_i] */
nn_status nn_softmax_xent_forward(const float *logits, const int *labels,
                                  float *probs, int n, int classes,
                                  float *loss)
{
    double total = 0.0;
    if (!labels_ok(labels, n, classes))
        return NN_EINVAL;
    for (int i = 0; i < n; i++) {
        const float *row = logits + (size_t)i * classes;
        float max;
        double sum = softmax_row(row, probs + (size_t)i * classes, classes, &max);
        /* log softmax at the label, without log(0) */
        total -= (double)(row[labels[i]] - max) - log(sum);
    }
    *loss = (float)(total / n);
    return isfinite(*loss) ? NN_OK : NN_ENUMERIC;
}

/* dlogits += (probs - onehot(label)) / total, for n of a batch's total
 * rows */
nn_status nn_softmax_xent_backward_of(const float *probs, const int *labels,
                                      float *dlogits, int n, int total,
                                      int classes)
{
    float inv_n = 1.0f / (float)total;
    if (!labels_ok(labels, n, classes))
        return NN_EINVAL;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * classes;
        float *d = dlogits + (size_t)i * classes;
        for (int j = 0; j < classes; j++)
            d[j] += (p[j] - (j == labels[i] ? 1.0f : 0.0f)) * inv_n;
    }
    return NN_OK;
}

/* dlogits += (probs - onehot(label)) / n */
nn_status nn_softmax_xent_backward(const float *probs, const int *labels,
                                   float *dlogits, int n, int classes)
{
    return nn_softmax_xent_backward_of(probs, labels, dlogits, n, n, classes);
}
