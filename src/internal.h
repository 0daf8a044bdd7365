/* Internal declarations shared by the library's source files. */
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

#include "nn.h"

#include <stddef.h>

/* Memory a layer asks the net for, counted in floats (cache in bytes). */
typedef struct {
    size_t params;  /* trainable values: weights first, then biases */
    size_t decayed; /* how many leading params weight decay applies to */
    size_t state;   /* non-trainable values kept in model files */
    size_t cache;   /* bytes kept from forward to backward, for max_batch */
    size_t scratch; /* floats of temporary space, shared by all layers */
    size_t partials; /* floats of one chunk's partial parameter gradients */
} nn_layer_sizes;

/* Most floats of activations one sample may need, all layers together. */
#define NN_MAX_SAMPLE_FLOATS ((size_t)1 << 27)

/* What nn_net_build would allocate for parameters and state, without
 * allocating: lets a loader check a file's counts first. */
nn_status nn_net_plan(nn_net *net, int max_batch, size_t *params,
                      size_t *state);

/* ---- threads (src/pool.c) */

/* Most threads a net may use. */
#define NN_MAX_THREADS 64
/* Work is cut into pieces whose number depends on the shapes only, never on
 * the thread count: that is what keeps results bit-identical for any number
 * of threads. Parameter-gradient reductions use NN_CHUNKS partial sums that
 * are added up in a fixed order. */
#define NN_CHUNKS 8

typedef struct nn_pool nn_pool;
/* One task of a parallel job; thread (0..threads-1) picks scratch space. */
typedef void (*nn_task_fn)(void *ctx, int task, int thread);

/* A pool with threads - 1 workers (the caller is the last thread). */
nn_status nn_pool_create(int threads, nn_pool **out);
void nn_pool_destroy(nn_pool *pool);
int nn_pool_threads(const nn_pool *pool);
/* Runs fn(ctx, t, thread) for t in 0..tasks-1 and waits for all of them;
 * a NULL pool runs them in order on the calling thread. */
void nn_pool_run(nn_pool *pool, int tasks, nn_task_fn fn, void *ctx);

/* The shape of nn_sgemm and of each of its paths (tests and nn_bench time
 * and check every path through it). */
typedef void (*nn_sgemm_fn)(int trans_a, int trans_b, int m, int n, int k,
                            float alpha, const float *a, int lda,
                            const float *b, int ldb, float beta, float *c,
                            int ldc);
/* What a forward or backward call may use besides its tensors. */
typedef struct {
    float *scratch;        /* per thread: scratch + thread * scratch_stride */
    size_t scratch_stride; /* floats of scratch each thread owns */
    float *partials;       /* NN_CHUNKS x the largest layer's partials */
    nn_pool *pool;         /* NULL: single-threaded */
    int training;          /* 1 in training mode */
    nn_kernels kernels;    /* the net's choice of kernels */
    nn_sgemm_fn sgemm;     /* the gemm path that choice runs */
    int avx2;              /* 1: AVX2+FMA kernels may run */
} nn_exec;

/* [first, last) of piece `part` when n items are cut into `parts` pieces. */
void nn_split(int n, int parts, int part, int *first, int *last);
/* The same for a count of values (element-wise work over a whole tensor). */
void nn_split_size(size_t n, int parts, int part, size_t *first, size_t *last);
/* grads[i] += sum over c < chunks of partials[c * stride + i], in order of c,
 * for n values; parallel over blocks of i. */
void nn_reduce_partials(const nn_exec *ex, float *grads, int chunks,
                        size_t stride, size_t n);

typedef struct nn_layer nn_layer;

/* The verbs every layer implements. */
typedef struct {
    const char *name;
    /* Output shape for input (c, h, w); NN_ESHAPE when they do not fit. */
    nn_status (*reshape)(nn_layer *layer);
    /* Memory needs for batches up to max_batch (after reshape). */
    void (*sizes)(const nn_layer *layer, int max_batch, nn_layer_sizes *out);
    /* Fills params and state; he = 1 when a relu follows. */
    void (*init)(nn_layer *layer, nn_rng *rng, int he);
    void (*forward)(nn_layer *layer, const nn_tensor *in, nn_tensor *out,
                    const nn_exec *ex);
    /* Accumulates into parameter gradients and in->g (when not NULL). */
    void (*backward)(nn_layer *layer, const nn_tensor *in,
                     const nn_tensor *out, const nn_exec *ex);
    /* The layer as an architecture-spec token ("conv3x3x16p1"), like snprintf. */
    int (*describe)(const nn_layer *layer, char *buf, size_t size);
} nn_layer_ops;

/* The part every concrete layer starts with. */
struct nn_layer {
    const nn_layer_ops *ops;
    int in_c, in_h, in_w;    /* one sample's input shape */
    int out_c, out_h, out_w; /* one sample's output shape */
    float *params, *grads;   /* views into the net's flat arrays */
    float *state;            /* batchnorm running statistics */
    void *cache;             /* forward-to-backward memory */
    nn_layer_sizes sizes;
};

/* Concrete constructors: they allocate the layer object only. */
nn_status nn_dense_create(int out, nn_layer **layer);
nn_status nn_conv2d_create(int out_channels, int kh, int kw, int stride,
                           int pad, nn_layer **layer);
nn_status nn_relu_create(nn_layer **layer);
nn_status nn_sigmoid_create(nn_layer **layer);
nn_status nn_tanh_create(nn_layer **layer);
nn_status nn_maxpool_create(int k, int stride, nn_layer **layer);
nn_status nn_batchnorm_create(nn_layer **layer);

/* Weight initialisation over n values with the given fans. */
void nn_init_weights(float *w, size_t n, int fan_in, int fan_out, int he,
                     nn_rng *rng);

/* a * b into *out; 0 on overflow of size_t. */
int nn_mul_size(size_t a, size_t b, size_t *out);

/* x[0] + ... + x[n-1] in eight interleaved partial sums, added in a fixed
 * order: fast (vectorisable) and the same bits on every call. */
float nn_sum(const float *x, size_t n);

/* ---- 3x3 stride-1 convolutions by Winograd F(2x2, 3x3) (conv_winograd.c)
 * Each call handles n <= nn_winograd_group(s) images; u holds the
 * transformed weights, (16, out_c, in_c). */
/* 1 when the shape suits Winograd: 3x3, stride 1, 8 or more channels. */
int nn_winograd_fits(const nn_conv2d_shape *s);
/* Images per call: enough tiles to give the gemms wide matrices. */
int nn_winograd_group(const nn_conv2d_shape *s);
/* Floats of u (and of the weight-gradient sum du). */
size_t nn_winograd_weights_size(const nn_conv2d_shape *s);
/* Floats of scratch for a call on a full group, du included. */
size_t nn_winograd_scratch(const nn_conv2d_shape *s);
/* u = G w G^T for channel pairs [first, last) of out_c * in_c; w as the
 * layer's (out_c, in_c, 3, 3). */
void nn_winograd_weights(const nn_conv2d_shape *s, const float *w, float *u,
                         size_t first, size_t last);
/* dw += G^T du G: turns a weight-gradient sum into the weights' gradient. */
void nn_winograd_weight_grads(const nn_conv2d_shape *s, const float *du,
                              float *dw);
/* y (n, out_c, out_h, out_w) = conv(x) + bias. */
void nn_winograd_forward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                         const float *u, const float *x, const float *bias,
                         float *y, float *scratch, int n);
/* du (16, out_c, in_c) += the Winograd-domain weight gradient, dbias += the
 * sums of dy, dx += the input gradient when dx is not NULL. */
void nn_winograd_backward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                          const float *u, const float *x, const float *dy,
                          float *dx, float *du, float *dbias, float *scratch,
                          int n);

/* ---- data module: gzip/DEFLATE decoding, whole-file reads and writes --
 * (src/inflate.c, src/file_io.c; used by the loaders and file writers) */

/* Largest file (or decompressed stream) the dataset loaders accept. */
#define NN_DATA_MAX_BYTES ((size_t)1 << 30)

/* CRC-32 (IEEE 802.3, as in gzip and zlib) of size bytes, continuing from
 * crc (start with 0). */
uint32_t nn_crc32(uint32_t crc, const unsigned char *data, size_t size);
/* Decodes a gzip file (RFC 1952, one or more members) into a new buffer
 * *out of *out_size bytes (free with free()). NN_EFORMAT for a corrupt or
 * truncated stream, NN_EOVERFLOW when the output would exceed max_out. On
 * failure *out is NULL and *reason (when reason is not NULL) says why. */
nn_status nn_gunzip(const unsigned char *in, size_t in_size,
                    unsigned char **out, size_t *out_size, size_t max_out,
                    const char **reason);
/* Reads a whole file of at most max_size bytes into a new buffer, every read
 * checked; a file starting with 1f 8b is gunzipped (output limited to
 * max_size too). On failure *data is NULL and msg names the file. */
nn_status nn_read_file(const char *path, size_t max_size, unsigned char **data,
                       size_t *size, char *msg, size_t msg_size);
/* Writes size bytes over path through a temporary file in the same
 * directory (path.tmp.XXXXXX), flushed, synced and renamed into place; on
 * any failure the temporary file is removed, path is left as it was and
 * msg names the file and the problem. */
nn_status nn_write_file_atomic(const char *path, const unsigned char *data,
                               size_t size, char *msg, size_t msg_size);
/* snprintf into msg when msg is not NULL and msg_size > 0. */
void nn_format_msg(char *msg, size_t msg_size, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* dir + "/" + name into buf; NN_EOVERFLOW when it does not fit. */
nn_status nn_path_join(const char *dir, const char *name, char *buf,
                       size_t size);
/* 1 when path can be opened for reading. */
int nn_file_readable(const char *path);
/* ---- end of data module --------------------------------------------- */

/* ------------------------------------------------- sgemm paths (gemm*.c)
 * nn_sgemm picks a path at run time; tests and benchmarks call each one. */

/* Packs a block of `width` lines (rows of op(A) or columns of op(B)) of
 * `depth` values, value (w, p) at src[w * w_step + p * k_step], into
 * panels of `panel` lines: dst (ceil(width / panel), depth, panel), the
 * last panel padded with zeros. */
typedef void (*nn_gemm_pack_fn)(const float *src, size_t w_step,
                                size_t k_step, int width, int depth,
                                int panel, float *dst);

/* A register-blocked micro-kernel and the packer that feeds it. run
 * computes the first rows x cols (<= mr x nr) values of
 * C = alpha * A panel (mr, kc) * B panel (kc, nr) + beta * C, where A
 * panel value (i, p) is a[i * a_row + p * a_k] (packed: a_row 1, a_k mr)
 * and the B panel is packed (kc, nr); beta == 0 does not read C. */
typedef struct {
    int mr, nr;           /* tile of C kept in registers */
    int reads_a_in_place; /* 1: run takes any a_row, a_k; 0: packed A only */
    void (*run)(int kc, const float *a, size_t a_row, size_t a_k,
                const float *b, int rows, int cols, float *c, size_t ldc,
                float alpha, float beta);
    nn_gemm_pack_fn pack;
} nn_gemm_kernel;

/* The plain C packer (any panel, any strides). */
void nn_gemm_pack_block(const float *src, size_t w_step, size_t k_step,
                        int width, int depth, int panel, float *dst);

/* nn_sgemm with cache blocking and packing around the given micro-kernel. */
void nn_sgemm_blocked(const nn_gemm_kernel *kernel, int trans_a, int trans_b,
                      int m, int n, int k, float alpha, const float *a,
                      int lda, const float *b, int ldb, float beta, float *c,
                      int ldc);
/* A named sgemm path. */
typedef struct {
    const char *name;
    nn_sgemm_fn run;
} nn_sgemm_path;

/* nn_sgemm in plain C (any CPU). */
void nn_sgemm_portable(int trans_a, int trans_b, int m, int n, int k,
                       float alpha, const float *a, int lda, const float *b,
                       int ldb, float beta, float *c, int ldc);
/* 1 when this CPU (and OS) runs AVX2 and FMA; 0 on other architectures. */
int nn_gemm_has_avx2(void);
#if defined(__x86_64__)
/* nn_sgemm with a 6x16 AVX2+FMA micro-kernel: only if nn_gemm_has_avx2(). */
void nn_sgemm_avx2(int trans_a, int trans_b, int m, int n, int k,
                   float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc);
#endif

/* ---- direct AVX2+FMA convolutions for stride 1 and few channels
 * (conv_direct_avx2.c): call them only when nn_gemm_has_avx2(). Same
 * meaning as nn_conv2d_forward and nn_conv2d_backward; each call is a pure
 * function of its arguments, so results do not depend on how the images are
 * cut into calls' groups or spread over threads. */
/* 1 when the direct kernels take this shape: stride 1, pad < kernel, at
 * most 24 input and 64 output channels, in_c*kh*kw >= 16 (0 off x86-64). */
int nn_conv_direct_fits(const nn_conv2d_shape *s);
/* Floats of scratch one thread needs for a call (any n). */
size_t nn_conv_direct_scratch(const nn_conv2d_shape *s);
/* y (n, out_c, out_h, out_w) = conv(x) + b. */
void nn_conv_direct_forward(const nn_conv2d_shape *s, const float *x,
                            const float *w, const float *b, float *y,
                            float *scratch, int n);
/* dw += dy (*) x, db += sum dy, dx += W^T (*) dy when dx is not NULL. */
void nn_conv_direct_backward(const nn_conv2d_shape *s, const float *x,
                             const float *w, const float *dy, float *dx,
                             float *dw, float *db, float *scratch, int n);

#endif /* NN_INTERNAL_H */
