/* A model compiled to one C11 source file and its header (nn_convert's
 * .c output): the weights as const arrays and one function, with no libnn,
 * no allocation, no stdio and no variable at file scope. Not part of
 * libnn. docs/COMPILE_C.md describes the generated code. */
#ifndef NN_CONVERT_C_H
#define NN_CONVERT_C_H

#include <stddef.h>

#include "nn.h"

/* What a compiled model needs, for the device it is meant for. */
typedef struct {
    size_t const_bytes; /* weights and statistics: the const arrays */
    size_t work_bytes;  /* the caller's working memory (PREFIX_WORK_FLOATS) */
    size_t in_floats;   /* one input sample */
    size_t classes;     /* outputs (logits or probabilities) */
} convert_c_sizes;

/* Writes net as C to path (NAME.c) and NAME.h beside it, the symbols
 * prefixed with NAME (its letters, digits and '_'); source names the model
 * in their comments. NN_EINVAL (msg says why) for a layer kind with no C
 * code or a weight that is not finite; NN_EIO when a file cannot be
 * written; NN_ENOMEM. */
nn_status convert_c_write(nn_net *net, const char *path, const char *source,
                          convert_c_sizes *sizes, char *msg, size_t msg_size);

#endif /* NN_CONVERT_C_H */
