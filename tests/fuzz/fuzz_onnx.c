/* libFuzzer target: nn_onnx_load on the input as an ONNX file. A file that
 * loads must run a forward pass, export to ONNX, and load again to the same
 * architecture, parameters and state, bit for bit. The reader is the same
 * for any input: every length and count is checked against the file before
 * it is used, and the net it builds is bounded by the file (its weights
 * are in it) and by the loader's limits on shapes. */
#include "fuzz_util.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_net *net = NULL, *again = NULL;
    char msg[256], path[128];
    const char *file = fuzz_file(0, data, size, 0), *dir = fuzz_temp_dir();
    nn_status st;
    FUZZ_CHECK(file != NULL && dir != NULL);
    st = nn_onnx_load(file, 1, 1, &net, msg, sizeof msg);
    FUZZ_CHECK(strlen(msg) < sizeof msg);
    FUZZ_CHECK((st == NN_OK) == (net != NULL));
    FUZZ_CHECK(st == NN_OK || msg[0] != '\0');
    if (st != NN_OK)
        return 0;
    FUZZ_CHECK(nn_net_forward(net, 1) == NN_OK);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    FUZZ_CHECK(nn_onnx_save(net, path, 0, msg, sizeof msg) == NN_OK);
    FUZZ_CHECK(nn_onnx_load(path, 1, 1, &again, msg, sizeof msg) == NN_OK);
    FUZZ_CHECK(fuzz_same_net(net, again));
    nn_net_destroy(again);
    nn_net_destroy(net);
    return 0;
}
