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
/* Prints the layer table: output shapes and parameter counts; for a graph
 * (cli_net_is_graph) also each layer's name and what it reads. */
void cli_print_layers(FILE *f, nn_net *net);
/* 1 when a layer of net has a name or does not read just the previous
 * layer's output (a residual add, a branch): its tables then show names
 * and what each layer reads. */
int cli_net_is_graph(const nn_net *net);
/* 1 when layer i (described by info) reads anything but the previous
 * layer's output alone (layer 0: the net's input). */
int cli_layer_reads_other(int i, const nn_layer_info *info);
/* Bytes that always hold cli_layer_reads's text. */
#define CLI_READS_SIZE (NN_MAX_INPUTS * (NN_NAME_SIZE + 2))
/* What layer i reads, for tables: "7, s0" (a layer by its name when it has
 * one, else by its number; "input" for the net's input); "" when it reads
 * just the previous layer's output. Returns buf. */
const char *cli_layer_reads(const nn_net *net, int i, const nn_layer_info *info,
                            char *buf, size_t size);

#endif
