/* Status messages and small shared helpers. */
#include "internal.h"

#include <stdint.h>

const char *nn_status_str(nn_status status)
{
    switch (status) {
    case NN_OK: return "success";
    case NN_ENOMEM: return "out of memory";
    case NN_EINVAL: return "invalid argument";
    case NN_ESHAPE: return "shapes do not fit together";
    case NN_EIO: return "input/output error";
    case NN_EFORMAT: return "malformed file contents";
    case NN_ENUMERIC: return "NaN or infinity in the computation";
    case NN_ESTATE: return "call not allowed in the current state";
    case NN_EOVERFLOW: return "size too large";
    }
    return "unknown status";
}

int nn_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

size_t nn_tensor_count(const nn_tensor *t)
{
    size_t count = 1;
    if (!t || t->n < 0 || t->c < 0 || t->h < 0 || t->w < 0)
        return 0;
    if (!nn_mul_size(count, (size_t)t->n, &count) ||
        !nn_mul_size(count, (size_t)t->c, &count) ||
        !nn_mul_size(count, (size_t)t->h, &count) ||
        !nn_mul_size(count, (size_t)t->w, &count))
        return 0;
    return count;
}
