/* Loading a model by its file name, and its layer table (see cli_model.h). */
#include "cli_model.h"
#include "cli_file.h"

#include <string.h>

nn_status cli_load_model(const char *path, int max_batch, int inference,
                         nn_net **out, char *msg, size_t msg_size)
{
    if (cli_has_suffix(path, ".onnx"))
        return nn_onnx_load(path, max_batch, inference, out, msg, msg_size);
    return inference ? nn_model_load_inference(path, max_batch, out, msg, msg_size)
                     : nn_model_load(path, max_batch, out, msg, msg_size);
}

int cli_layer_reads_other(int i, const nn_layer_info *info)
{
    return info->inputs != 1 || info->from[0] != i - 1;
}

int cli_net_is_graph(const nn_net *net)
{
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        if (nn_net_layer_info(net, i, &info) == NN_OK &&
            (info.name[0] || cli_layer_reads_other(i, &info)))
            return 1;
    }
    return 0;
}

const char *cli_layer_reads(const nn_net *net, int i, const nn_layer_info *info,
                            char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    if (!cli_layer_reads_other(i, info))
        return buf;
    for (int k = 0; k < info->inputs && used < size; k++) {
        nn_layer_info from;
        const char *sep = k ? ", " : "";
        int n;
        if (info->from[k] < 0)
            n = snprintf(buf + used, size - used, "%sinput", sep);
        else if (nn_net_layer_info(net, info->from[k], &from) == NN_OK &&
                 from.name[0])
            n = snprintf(buf + used, size - used, "%s%s", sep, from.name);
        else
            n = snprintf(buf + used, size - used, "%s%d", sep, info->from[k]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* The width of a column: its title's, or the longest of the layers'
 * kinds (names when name is 1). */
static int column_width(const nn_net *net, int width, int name)
{
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        const char *s;
        if (nn_net_layer_info(net, i, &info) != NN_OK)
            continue;
        s = name ? info.name : info.kind;
        if ((int)strlen(s) > width)
            width = (int)strlen(s);
    }
    return width;
}

void cli_print_layers(FILE *f, nn_net *net)
{
    int c, h, w, kw = column_width(net, 10, 0), nw = column_width(net, 4, 1);
    int graph = cli_net_is_graph(net);
    size_t total = 0;
    nn_net_input_shape(net, &c, &h, &w);
    fprintf(f, "%-4s %-*s %-16s %12s", "#", kw, "layer", "output (c,h,w)",
            "parameters");
    if (graph)
        fprintf(f, "  %-*s  %s", nw, "name", "reads");
    fprintf(f, "\n");
    fprintf(f, "%-4s %-*s %5d,%4d,%4d    %12s\n", "-", kw, "input", c, h, w, "0");
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        char reads[CLI_READS_SIZE];
        if (nn_net_layer_info(net, i, &info) != NN_OK)
            continue;
        fprintf(f, "%-4d %-*s %5d,%4d,%4d    %12zu", i, kw, info.kind,
                info.out_c, info.out_h, info.out_w, info.params);
        cli_layer_reads(net, i, &info, reads, sizeof reads);
        if (reads[0])
            fprintf(f, "  %-*s  %s", nw, info.name, reads);
        else if (info.name[0])
            fprintf(f, "  %s", info.name);
        fprintf(f, "\n");
        total += info.params;
    }
    fprintf(f, "total trainable parameters: %zu\n", total);
}
