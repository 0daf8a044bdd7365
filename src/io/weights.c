/* Weights for other tools: every named tensor of every layer (the layer
 * kinds' fields: weight, bias, gamma, beta, running_mean, running_var) as
 * NumPy .npy files in a directory, or as variables of one MATLAB level-5
 * .mat file, named layer<i>_<name>. Both hold float32 arrays of the
 * tensor's shape (a vector as a column in MATLAB, which has no 1-D arrays). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "io/io.h"
#include "io/le_buffer.h"

/* Visits every named tensor of the net: fn(ctx, name, dims, rank, values)
 * until it returns non-OK. */
typedef nn_status (*tensor_fn)(void *ctx, const char *name, const int *dims,
                               int rank, const float *values, size_t count);

static nn_status each_tensor(nn_net *net, tensor_fn fn, void *ctx)
{
    size_t p = 0, s = 0;
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_field fields[NN_MAX_FIELDS];
        nn_layer_info info;
        int count = 0;
        nn_status st;
        if ((st = nn_net_layer_info(net, i, &info)) != NN_OK ||
            (st = nn_net_layer_fields(net, i, fields, &count)) != NN_OK)
            return st;
        for (int f = 0; f < count; f++) {
            char name[64];
            const float *base = fields[f].state ? nn_net_state(net) + s
                                                : nn_net_params(net) + p;
            snprintf(name, sizeof name, "layer%d_%s", i, fields[f].name);
            st = fn(ctx, name, fields[f].dims, fields[f].rank,
                    base + fields[f].offset, fields[f].count);
            if (st != NN_OK)
                return st;
        }
        p += info.params;
        s += info.state;
    }
    return NN_OK;
}

/* ------------------------------------------------------------------ npy */

typedef struct {
    const char *dir;
    char *msg;
    size_t msg_size;
} npy_ctx;

/* One .npy file, version 1.0: magic, header length, a Python dict padded
 * with spaces to a multiple of 64 bytes, then little-endian float32 data
 * in C order. */
static nn_status write_npy(void *p, const char *name, const int *dims,
                           int rank, const float *values, size_t count)
{
    const npy_ctx *ctx = p;
    char header[256], shape[96] = "", path[4096], file[80];
    nn_le_buffer b;
    size_t used = 0, header_len, total;
    nn_status st;
    for (int i = 0; i < rank; i++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%d,%s",
                                 dims[i], i + 1 < rank ? " " : "");
    header_len = (size_t)snprintf(header, sizeof header,
                                  "{'descr': '<f4', 'fortran_order': False, "
                                  "'shape': (%s), }", shape);
    while ((10 + header_len + 1) % 64)
        header[header_len++] = ' ';
    header[header_len++] = '\n';
    total = 10 + header_len + 4 * count;
    b = (nn_le_buffer){malloc(total), total, 0, 0};
    if (!b.data) {
        nn_format_msg(ctx->msg, ctx->msg_size, "out of memory");
        return NN_ENOMEM;
    }
    nn_le_put_bytes(&b, "\x93NUMPY\x01\x00", 8);
    nn_le_put(&b, header_len, 2);
    nn_le_put_bytes(&b, header, header_len);
    nn_le_put_floats(&b, values, count);
    snprintf(file, sizeof file, "%s.npy", name);
    st = nn_path_join(ctx->dir, file, path, sizeof path);
    if (st == NN_OK)
        st = nn_write_file_atomic(path, b.data, b.size, ctx->msg, ctx->msg_size);
    else
        nn_format_msg(ctx->msg, ctx->msg_size, "%s: path too long", ctx->dir);
    free(b.data);
    return st;
}

nn_status nn_weights_save_npy(nn_net *net, const char *dir, char *msg,
                              size_t msg_size)
{
    npy_ctx ctx = {dir, msg, msg_size};
    struct stat sb;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!net || !dir) {
        nn_format_msg(msg, msg_size, "invalid argument");
        return NN_EINVAL;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        nn_format_msg(msg, msg_size, "%s: cannot create the directory (%s)",
                      dir, strerror(errno));
        return NN_EIO;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        nn_format_msg(msg, msg_size, "%s: not a directory", dir);
        return NN_EIO;
    }
    return each_tensor(net, write_npy, &ctx);
}

/* ------------------------------------------------------------------ mat */

/* MAT level 5 data types and the single-precision array class. */
enum { MI_INT8 = 1, MI_INT32 = 5, MI_UINT32 = 6, MI_SINGLE = 7, MI_MATRIX = 14,
       MX_SINGLE_CLASS = 7 };

static size_t pad8(size_t n)
{
    return (n + 7) / 8 * 8;
}

/* Bytes of one variable's miMATRIX element, tag included. */
static size_t matrix_size(const char *name, int rank, size_t count)
{
    int dims = rank < 2 ? 2 : rank;
    return 8 + (8 + 8) + (8 + pad8(4 * (size_t)dims)) +
           (8 + pad8(strlen(name))) + (8 + pad8(4 * count));
}

typedef struct {
    nn_le_buffer *b;
    size_t bytes; /* while sizing: the total */
} mat_ctx;

/* A data element's tag, then its bytes padded to 8. */
static void element(nn_le_buffer *b, int type, const void *data, size_t size)
{
    static const unsigned char zeros[8] = {0};
    nn_le_put(b, (uint32_t)type, 4);
    nn_le_put(b, (uint32_t)size, 4);
    nn_le_put_bytes(b, data, size);
    nn_le_put_bytes(b, zeros, pad8(size) - size);
}

static nn_status size_mat(void *p, const char *name, const int *dims,
                          int rank, const float *values, size_t count)
{
    mat_ctx *ctx = p;
    (void)dims;
    (void)values;
    ctx->bytes += matrix_size(name, rank, count);
    return NN_OK;
}

/* One variable: flags, dimensions, name, then the values in MATLAB's
 * column-major order (the last index of the C order varies slowest). */
static nn_status write_mat(void *p, const char *name, const int *dims,
                           int rank, const float *values, size_t count)
{
    mat_ctx *ctx = p;
    nn_le_buffer *b = ctx->b;
    uint32_t flags[2] = {MX_SINGLE_CLASS, 0};
    unsigned char dim_bytes[32];
    int mdims[4] = {dims[0], rank > 1 ? dims[1] : 1, rank > 2 ? dims[2] : 1,
                    rank > 3 ? dims[3] : 1};
    int n_dims = rank < 2 ? 2 : rank;
    size_t stride[4];
    nn_le_put(b, MI_MATRIX, 4);
    nn_le_put(b, matrix_size(name, rank, count) - 8, 4);
    {
        unsigned char f[8];
        for (int i = 0; i < 8; i++)
            f[i] = (unsigned char)(flags[i / 4] >> (8 * (i % 4)));
        element(b, MI_UINT32, f, 8);
    }
    for (int i = 0; i < n_dims; i++)
        for (int k = 0; k < 4; k++)
            dim_bytes[4 * i + k] = (unsigned char)((uint32_t)mdims[i] >> (8 * k));
    element(b, MI_INT32, dim_bytes, 4 * (size_t)n_dims);
    element(b, MI_INT8, name, strlen(name));
    nn_le_put(b, MI_SINGLE, 4);
    nn_le_put(b, 4 * count, 4);
    /* C-order strides, then the values with the first index fastest */
    stride[3] = 1;
    for (int i = 2; i >= 0; i--)
        stride[i] = stride[i + 1] * (size_t)mdims[i + 1];
    for (int l = 0; l < mdims[3]; l++)
        for (int k = 0; k < mdims[2]; k++)
            for (int j = 0; j < mdims[1]; j++)
                for (int i = 0; i < mdims[0]; i++)
                    nn_le_put_floats(b, values + i * stride[0] + j * stride[1] +
                                            k * stride[2] + l * stride[3], 1);
    {
        static const unsigned char zeros[8] = {0};
        nn_le_put_bytes(b, zeros, pad8(4 * count) - 4 * count);
    }
    return NN_OK;
}

nn_status nn_weights_save_mat(nn_net *net, const char *path, char *msg,
                              size_t msg_size)
{
    mat_ctx ctx = {NULL, 128};
    nn_le_buffer b;
    char text[117];
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!net || !path) {
        nn_format_msg(msg, msg_size, "invalid argument");
        return NN_EINVAL;
    }
    each_tensor(net, size_mat, &ctx);
    b = (nn_le_buffer){malloc(ctx.bytes), ctx.bytes, 0, 0};
    if (!b.data) {
        nn_format_msg(msg, msg_size, "%s: out of memory", path);
        return NN_ENOMEM;
    }
    /* 116 bytes of text, 8 of subsystem offset, version 0x0100, "IM" */
    memset(text, ' ', sizeof text);
    memcpy(text, "MATLAB 5.0 MAT-file, written by libnn", 37);
    nn_le_put_bytes(&b, text, 116);
    nn_le_put(&b, 0, 8);
    nn_le_put(&b, 0x0100, 2);
    nn_le_put_bytes(&b, "IM", 2);
    ctx.b = &b;
    st = each_tensor(net, write_mat, &ctx);
    if (st == NN_OK && (b.overrun || b.pos != b.size))
        st = NN_EOVERFLOW;
    if (st == NN_OK)
        st = nn_write_file_atomic(path, b.data, b.size, msg, msg_size);
    else
        nn_format_msg(msg, msg_size, "%s: %s", path, nn_status_str(st));
    free(b.data);
    return st;
}
