/* The library's version, as compiled. */
#include "nn.h"

const char *nn_version(void)
{
    return NN_VERSION_STRING;
}
