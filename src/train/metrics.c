/* Classification metrics: argmax, confusion matrix, precision and recall. */
#include "nn.h"

#include <string.h>

int nn_argmax(const float *values, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (values[i] > values[best])
            best = i;
    return best;
}

nn_status nn_confusion(const int *predicted, const uint8_t *labels, int n,
                       int classes, long *matrix)
{
    if (!predicted || !labels || !matrix || n < 0 || classes <= 0)
        return NN_EINVAL;
    memset(matrix, 0, sizeof *matrix * (size_t)classes * classes);
    for (int i = 0; i < n; i++) {
        if (predicted[i] < 0 || predicted[i] >= classes || labels[i] >= classes)
            return NN_EINVAL;
        matrix[(size_t)labels[i] * classes + predicted[i]]++;
    }
    return NN_OK;
}

/* precision_k = M[k,k] / sum_i M[i,k];  recall_k = M[k,k] / sum_j M[k,j];
 * F1 = 2 p r / (p + r) */
void nn_class_metrics(const long *matrix, int classes, float *precision,
                      float *recall, float *f1)
{
    for (int k = 0; k < classes; k++) {
        long predicted = 0, actual = 0, hit = matrix[(size_t)k * classes + k];
        float p, r;
        for (int i = 0; i < classes; i++) {
            predicted += matrix[(size_t)i * classes + k];
            actual += matrix[(size_t)k * classes + i];
        }
        p = predicted ? (float)hit / (float)predicted : 0.0f;
        r = actual ? (float)hit / (float)actual : 0.0f;
        if (precision)
            precision[k] = p;
        if (recall)
            recall[k] = r;
        if (f1)
            f1[k] = p + r > 0.0f ? 2.0f * p * r / (p + r) : 0.0f;
    }
}
