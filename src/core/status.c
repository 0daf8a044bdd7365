/* Status messages. */
#include "nn.h"

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
