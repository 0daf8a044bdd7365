/* Prints the version of an installed libnn; fails unless the library and
 * its header (the string and the three numbers) agree. */
#include <stdio.h>
#include <string.h>
#include "nn.h"

int main(void)
{
    char numbers[32];
    snprintf(numbers, sizeof numbers, "%d.%d.%d", NN_VERSION_MAJOR, NN_VERSION_MINOR,
             NN_VERSION_PATCH);
    printf("libnn %s (header %s)\n", nn_version(), NN_VERSION_STRING);
    return strcmp(nn_version(), NN_VERSION_STRING) == 0 && strcmp(numbers, NN_VERSION_STRING) == 0
               ? 0
               : 1;
}
