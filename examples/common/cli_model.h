/* Models as the command-line tools of examples/ load and show them. Not
 * part of libnn. */
#ifndef NN_CLI_MODEL_H
#define NN_CLI_MODEL_H

#include <stddef.h>
#include <stdio.h>

#include "nn.h"

/* Loads a model by its file name: .onnx through nn_onnx_load, anything
 * else as a libnn model file; built for inference only when inference is 1. */
nn_status cli_load_model(const char *path, int max_batch, int inference,
                         nn_net **out, char *msg, size_t msg_size);
/* Prints the layer table: output shapes and parameter counts. */
void cli_print_layers(FILE *f, nn_net *net);

#endif
