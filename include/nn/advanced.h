/* libnn's advanced interface, for libnn's own tools and tests; NOT
 * included by nn.h, and its API may change in any release. Programs need
 * only nn.h. What is here is machinery: the gemm path behind a choice of
 * kernels, how a batch is cut into shards and summed across processes
 * (nn_group, for libnn_mpi), the net's noise counter (dropout masks), a
 * layer's named tensors and multiply-add counts, atomic file writes and
 * PNG images. */
#ifndef NN_ADVANCED_H
#define NN_ADVANCED_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- gemm paths */

/* The shape of nn_sgemm and of each path behind it. */
typedef void (*nn_sgemm_fn)(int trans_a, int trans_b, int m, int n, int k,
                            float alpha, const float *a, int lda,
                            const float *b, int ldb, float beta, float *c,
                            int ldc);

/* The gemm a choice of kernels runs: AVX-512 or AVX2+FMA where the CPU
 * has them for NN_KERNELS_AUTO (the same bits), plain C otherwise. */
nn_sgemm_fn nn_sgemm_for(nn_kernels kernels);

/* ------------------------------------------------- shards and process groups */

/* Sums across processes, for training one net on several. Each sum_*
 * replaces `values`, on every process, with the sum over the processes of
 * each one's values, added as a pairwise tree in rank order: ranks 0+1,
 * 2+3, ..., then those sums pairwise, an odd last one carried up a level.
 * libnn_mpi makes one over MPI (nn_mpi.h); a NULL group means alone. */
struct nn_group {
    int rank, size;            /* this process, and how many there are */
    void *ctx;                 /* what the functions below are given */
    nn_status (*sum_float)(void *ctx, float *values, size_t count);
    nn_status (*sum_double)(void *ctx, double *values, size_t count);
};

#define NN_SHARDS_DEFAULT 4    /* shards of a training batch, by default */
#define NN_SHARDS_MAX 256      /* most shards a batch may be cut into */

/* Cuts every batch into `shards` shards of (nearly) equal size: each sum
 * over the batch (parameter gradients, batchnorm statistics) is made per
 * shard, and the shards' sums are added as a pairwise tree (see nn_group).
 * So P processes that each hold shards/P of them give the bits of one
 * process holding all when shards/P is a power of two. Default
 * NN_SHARDS_DEFAULT; may allocate; NN_EINVAL outside [1, NN_SHARDS_MAX]. */
nn_status nn_net_set_shards(nn_net *net, int shards);
/* The net's shard count. */
int nn_net_shards(const nn_net *net);
/* Where shard s of a batch of `total` samples cut in `shards` begins:
 * total * s / shards (s = shards gives total). */
int nn_shard_start(int total, int shards, int s);

/* ------------------------------------------------------------------ noise */

/* The counter-based noise of the net (dropout masks): each training
 * forward pass draws from the key (seed, pass) and then counts pass up.
 * nn_net_build sets seed from its seed and pass to 0; checkpoints keep both. */
void nn_net_noise(const nn_net *net, uint64_t *seed, uint64_t *pass);
/* Sets the noise seed and pass counter (to resume a run). */
void nn_net_set_noise(nn_net *net, uint64_t seed, uint64_t pass);

/* --------------------------------------------------------- layer tensors */

/* Most named tensors one layer holds (nn_net_layer_fields). */
#define NN_MAX_FIELDS 4

/* One named tensor of a layer, as model files and exports lay it out. */
typedef struct {
    const char *name;  /* "weight", "bias", "gamma", "running_var", ... */
    int state;         /* 0: in the parameters, 1: in the state */
    int rank, dims[4]; /* shape, outermost first */
    size_t offset;     /* first value in the layer's params or state */
    size_t count;      /* values: the product of dims */
    int nonnegative;   /* 1 when a valid value is >= 0 (variances) */
} nn_layer_field;

/* The named tensors of layer i into out (NN_MAX_FIELDS of room); *count
 * gets how many there are. */
nn_status nn_net_layer_fields(const nn_net *net, int i, nn_layer_field *out,
                              int *count);

/* ---------------------------------------------------------- multiply-adds */

/* Multiply-adds of one sample through one layer: the products of its gemms
 * or convolutions (Winograd F(2x2, 3x3): 16 per 2x2 tile and channel
 * pair; its transforms, only additions but for the weights', not counted);
 * 0 for layers without weights. */
typedef struct {
    uint64_t forward;         /* forward pass, with the net's kernels */
    uint64_t backward;        /* weight gradient, and input gradient when computed */
    uint64_t direct_forward;  /* forward pass counted as direct convolution */
    uint64_t direct_backward; /* backward pass counted likewise */
} nn_layer_macs;
/* Layer i's multiply-adds per sample as the net runs it (its kernel choice;
 * the first layer's input gradient only with nn_net_set_input_grad). */
nn_status nn_net_layer_macs(const nn_net *net, int i, nn_layer_macs *out);

/* ------------------------------------------------------------------- files */

/* Writes size bytes over path atomically: through a temporary file in the
 * same directory (path.tmp.XXXXXX), flushed, fsynced and renamed into
 * place. NN_EIO when it cannot be written (missing directory, full disk)
 * or when path exists and is not a regular file (a directory, a device, a
 * FIFO: never replaced); on any failure path is left exactly as it was,
 * the temporary file is removed and msg names the file and the problem. */
nn_status nn_write_file_atomic(const char *path, const void *data, size_t size,
                               char *msg, size_t msg_size);

/* ------------------------------------------------------------------ images */

/* Writes pixels (height, width, channels; 1 gray, 3 RGB) as a PNG, atomically. */
nn_status nn_png_write(const char *path, const uint8_t *pixels, int width,
                       int height, int channels, char *msg, size_t msg_size);
/* Widest and tallest image nn_png_read accepts, in pixels. */
#define NN_PNG_MAX_SIDE 16384
/* Reads a non-interlaced PNG of any colour type and depth into new pixels
 * (height, width, channels; free()): 1 grey (also a grey palette), 3 RGB,
 * 8 bits, alpha composited on black; every chunk, CRC and size checked. */
nn_status nn_png_read(const char *path, uint8_t **pixels, int *width,
                      int *height, int *channels, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* NN_ADVANCED_H */
