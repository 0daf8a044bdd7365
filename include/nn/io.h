/* libnn's files (part of nn.h): model files, ONNX export and import,
 * weights for NumPy and MATLAB, and training checkpoints. */
#ifndef NN_IO_H
#define NN_IO_H

#include <stddef.h>

#include "nn/core.h"
#include "nn/net.h"
#include "nn/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- model files
 * A versioned little-endian binary format (see docs/FORMAT.md): magic,
 * version, input shape and normalisation, architecture spec, parameters,
 * batchnorm statistics and a CRC-32. Saving writes a temporary file and
 * renames it into place. */

/* Saves a built net's architecture and weights to path. */
nn_status nn_model_save(nn_net *net, const char *path, char *msg,
                        size_t msg_size);
/* Loads a model file into a new net built for training (in training
 * mode) with batches of up to max_batch. A corrupt or truncated file, or
 * one whose weights are not finite, is refused and msg says why. */
nn_status nn_model_load(const char *path, int max_batch, nn_net **out,
                        char *msg, size_t msg_size);
/* The same into a net built for inference only (nn_net_build_inference). */
nn_status nn_model_load_inference(const char *path, int max_batch,
                                  nn_net **out, char *msg, size_t msg_size);

/* ------------------------------------------------- inference in a buffer
 * A net for inference can live in memory the caller provides: no heap
 * call from nn_infer_size through nn_model_load_into, forward passes and
 * reading the output. `model` is a whole model file's bytes in memory
 * (version 1 or 2; a gzip'd file is refused: inflate it first). The net
 * runs on one thread; nn_net_destroy on it frees nothing (the caller frees
 * the buffer, once the net is no longer used). */

/* Alignment the sizes below assume: a buffer at another address needs up
 * to NN_BUFFER_ALIGN - 1 bytes more (the net starts at its first aligned
 * byte). */
#define NN_BUFFER_ALIGN 64

/* The exact bytes nn_model_load_into needs for this model and batches of
 * up to max_batch in an NN_BUFFER_ALIGN-aligned buffer, without
 * allocating (it plans in 128 KiB of stack: NN_EOVERFLOW past about 300
 * layers); NN_EFORMAT for a corrupt image (nn_model_load_into says why,
 * and checks the values too). */
nn_status nn_infer_size(const void *model, size_t model_size, int max_batch,
                        size_t *bytes);
/* Builds the model's net for inference inside buffer, checked as
 * nn_model_load checks a file. NN_ENOMEM when buffer_size is too small:
 * msg says "the buffer holds N bytes; this model needs M". */
nn_status nn_model_load_into(const void *model, size_t model_size,
                             int max_batch, void *buffer, size_t buffer_size,
                             nn_net **out, char *msg, size_t msg_size);

/* -------------------------------------------------------- compiled to C
 * A model as one C11 source file and its header, with no libnn, no
 * allocation and no stdio (docs/COMPILE_C.md). */

/* What a compiled model needs, for the device it is meant for. */
typedef struct {
    size_t const_bytes; /* weights and statistics: the const arrays */
    size_t work_bytes;  /* the caller's working memory (PREFIX_WORK_FLOATS) */
    size_t in_floats;   /* one input sample */
    size_t classes;     /* outputs (logits or probabilities) */
} nn_model_c_sizes;

/* Writes net as C to path (NAME.c) and NAME.h beside it, the symbols
 * prefixed with NAME (its letters, digits and '_'); source names the model
 * in their comments; sizes (NULL allowed) gets what the code needs.
 * NN_EINVAL (msg says why) for a layer kind with no C code or a weight
 * that is not finite; NN_EIO when a file cannot be written; NN_ENOMEM. */
nn_status nn_model_c_save(nn_net *net, const char *path, const char *source,
                          nn_model_c_sizes *sizes, char *msg,
                          size_t msg_size);

/* ------------------------------------------------------------------- ONNX
 * Export to and import from ONNX (opset 13, IR version 7; docs/FORMAT.md):
 * every layer kind maps to ONNX operators through its table entry. */

/* Options of nn_onnx_save. */
enum {
    NN_ONNX_SOFTMAX = 1 /* end the graph with a Softmax: probabilities out */
};

/* Writes a built net as an ONNX model with inference semantics (batchnorm
 * with its running statistics, dropout as the identity) and a symbolic
 * batch dimension; atomically, like nn_model_save. */
nn_status nn_onnx_save(nn_net *net, const char *path, unsigned flags,
                       char *msg, size_t msg_size);
/* Reads an ONNX model whose graph libnn's nets express (Conv, Gemm or
 * MatMul + Add, Relu, LeakyRelu, Sigmoid, Tanh, MaxPool, AveragePool,
 * GlobalAveragePool or ReduceMean, BatchNormalization, Dropout, Flatten or
 * Reshape, Add, Sum and Concat of activations, a final Softmax;
 * docs/FORMAT.md) into a new net built for max_batch, for inference only
 * when inference is 1. Anything else is refused and msg names the node,
 * its operator and why. */
nn_status nn_onnx_load(const char *path, int max_batch, int inference,
                       nn_net **out, char *msg, size_t msg_size);

/* Every named tensor of every layer ("weight", "bias", "gamma", ...: see
 * nn_net_layer_fields in nn/advanced.h) as a NumPy .npy file
 * dir/layer<i>_<name>.npy (float32, the tensor's shape); dir is created
 * when missing. */
nn_status nn_weights_save_npy(nn_net *net, const char *dir, char *msg,
                              size_t msg_size);
/* The same as variables layer<i>_<name> of one MATLAB level-5 .mat file
 * (single precision; vectors as columns), for MATLAB and scipy.io.loadmat. */
nn_status nn_weights_save_mat(nn_net *net, const char *path, char *msg,
                              size_t msg_size);

/* ------------------------------------------------------------ checkpoints */

/* What a checkpoint keeps besides the net and its optimizer. */
typedef struct {
    int epoch;  /* epochs completed */
    nn_rng rng; /* the trainer's generator after them */
    int batch;  /* the minibatch size the run trains with (0: unknown, as
                   in version 1 checkpoints) */
    nn_schedule schedule; /* the run's learning-rate schedule */
    int has_schedule;     /* set by nn_checkpoint_load: 1 when the file
                             recorded the schedule (version 3 on) */
} nn_train_state;

/* Saves the model, the net's noise counter (dropout masks), the optimizer
 * (kind, settings, state buffers, step count) and ts (epochs, generator,
 * batch size, schedule) atomically: temporary file, fsync, rename. */
nn_status nn_checkpoint_save(nn_net *net, const nn_optim *opt,
                             const nn_train_state *ts, const char *path,
                             char *msg, size_t msg_size);
/* Loads a checkpoint into a new net built for max_batch and a new optimizer
 * for it, and fills ts; training resumed from it gives bit-identical
 * results. When want is not NULL, a checkpoint made with another optimizer
 * or other settings (the learning rate aside) is refused with NN_ESTATE and
 * msg names the difference. ts->batch is the batch size the checkpoint's run
 * trained with (0 when the file does not say) and ts->schedule its schedule
 * (when ts->has_schedule): compare them with yours. */
nn_status nn_checkpoint_load(const char *path, int max_batch,
                             const nn_optim_settings *want, nn_net **net,
                             nn_optim **opt, nn_train_state *ts, char *msg,
                             size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* NN_IO_H */
