/* Loading a model by its file name, and its layer table (see cli_model.h). */
#include "cli_model.h"
#include "cli_file.h"

nn_status cli_load_model(const char *path, int max_batch, int inference,
                         nn_net **out, char *msg, size_t msg_size)
{
    if (cli_has_suffix(path, ".onnx"))
        return nn_onnx_load(path, max_batch, inference, out, msg, msg_size);
    return inference ? nn_model_load_inference(path, max_batch, out, msg, msg_size)
                     : nn_model_load(path, max_batch, out, msg, msg_size);
}

void cli_print_layers(FILE *f, nn_net *net)
{
    int c, h, w;
    size_t total = 0;
    nn_net_input_shape(net, &c, &h, &w);
    fprintf(f, "%-4s %-10s %-16s %12s\n", "#", "layer", "output (c,h,w)", "parameters");
    fprintf(f, "%-4s %-10s %5d,%4d,%4d    %12s\n", "-", "input", c, h, w, "0");
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        if (nn_net_layer_info(net, i, &info) != NN_OK)
            continue;
        fprintf(f, "%-4d %-10s %5d,%4d,%4d    %12zu\n", i, info.kind,
                info.out_c, info.out_h, info.out_w, info.params);
        total += info.params;
    }
    fprintf(f, "total trainable parameters: %zu\n", total);
}
