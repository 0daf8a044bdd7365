/* Model files inside the library: what checkpoints (which hold a whole
 * model file) share with src/io/model_file.c. Format: docs/FORMAT.md. */
#ifndef NN_IO_MODEL_FILE_H
#define NN_IO_MODEL_FILE_H

#include <stddef.h>

#include "io/le_buffer.h"
#include "nn.h"

/* Largest model file or checkpoint loaded. */
#define MODEL_MAX_BYTES ((size_t)1 << 31)

/* The first bytes of an int8 model file (src/io/qmodel_file.c). */
#define NN_QMODEL_MAGIC "NNQINT8"
#define NN_QMODEL_MAGIC_SIZE 8

/* An int8 model file's bytes (checksum, layout, every value checked) into
 * a new model, not yet prepared (nn_qmodel_prepare); why says what is
 * wrong. */
nn_status nn_qmodel_decode(const unsigned char *data, size_t size,
                           nn_qmodel **out, char *why, size_t why_size);

/* The whole model file for net in a new buffer b->data of b->size bytes;
 * msg says why when it cannot be made. */
nn_status nn_model_encode(nn_net *net, nn_le_buffer *b, char *msg,
                          size_t msg_size);
/* A whole model file in b into a new net built for max_batch (for
 * inference only when inference is 1); why says what is wrong. */
nn_status nn_model_decode(nn_le_buffer *b, int max_batch, int inference,
                          nn_net **out, char *why, size_t why_size);
/* "layer 3 (batchnorm) running_var[2] is -0.5" when a value of a layer's
 * named tensors is not finite, or negative where it must not be: such a
 * net would only give NaN. 0 when every value is valid. */
int nn_model_invalid_value(nn_net *net, char *msg, size_t msg_size);
/* Checks the arguments every loader shares, then reads path whole (at most
 * MODEL_MAX_BYTES) into b. */
nn_status nn_model_read_whole(const char *path, int max_batch, nn_net **out,
                              nn_le_buffer *b, char *msg, size_t msg_size);

#endif /* NN_IO_MODEL_FILE_H */
