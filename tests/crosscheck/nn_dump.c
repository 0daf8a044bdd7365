/* nn_dump: libnn's side of the cross-checks with other engines. Runs a
 * model (.nnm or .onnx) in inference mode on inputs and writes the inputs
 * it used and its outputs as raw little-endian float32 files, for
 * ONNX Runtime, PyTorch or NumPy to compare with.
 *   nn_dump MODEL --idx IMAGES LABELS INPUTS.f32 OUTPUTS.f32
 *       the images of an IDX pair, normalised as the model records
 *   nn_dump MODEL --inputs FILE.f32 N OUTPUTS.f32
 *       N samples of the model's input shape, as given
 * An int8 model file runs through nn_qmodel_logits (its dequantized
 * logits). Prints the number of samples and, with --idx, the accuracy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

enum { BATCH = 256 };

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Runs n samples of x through the net in batches into y; 0 on failure. */
static int run(nn_net *net, const float *x, long n, float *y, int *outputs)
{
    nn_tensor *in = nn_net_input(net);
    size_t per_in = (size_t)in->c * in->h * in->w, per_out = 0;
    for (long first = 0; first < n; first += BATCH) {
        int count = n - first < BATCH ? (int)(n - first) : BATCH;
        nn_tensor *out;
        memcpy(in->x, x + (size_t)first * per_in, (size_t)count * per_in * sizeof(float));
        if (nn_net_forward(net, count) != NN_OK)
            return 0;
        out = nn_net_output(net);
        per_out = (size_t)out->c * out->h * out->w;
        memcpy(y + (size_t)first * per_out, out->x, (size_t)count * per_out * sizeof(float));
    }
    *outputs = (int)per_out;
    return 1;
}

static int write_floats(const char *path, const float *x, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(x, sizeof(float), n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok;
}

/* The images of an IDX pair normalised with mean and std, (c, h, w). */
static float *idx_images(const char *images, const char *labels, int c,
                         int h, int w, const float mean[3], const float std[3],
                         long *n)
{
    char msg[512];
    nn_dataset d = {0};
    float *x = NULL;
    int *classes = NULL;
    if (nn_mnist_load(images, labels, &d, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "nn_dump: %s\n", msg);
        return NULL;
    }
    memcpy(d.mean, mean, sizeof d.mean);
    memcpy(d.std, std, sizeof d.std);
    *n = d.count;
    x = malloc((size_t)d.count * c * h * w * sizeof *x);
    classes = malloc((size_t)d.count * sizeof *classes);
    if (!x || !classes || nn_dataset_batch(&d, NULL, d.count, x, classes) != NN_OK) {
        fprintf(stderr, "nn_dump: cannot draw the images\n");
        free(x);
        x = NULL;
    }
    free(classes);
    nn_dataset_free(&d);
    return x;
}

/* The images of an IDX pair as the model's normalised inputs. */
static float *idx_inputs(nn_net *net, const char *images, const char *labels,
                         long *n)
{
    float mean[3], std[3];
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    nn_net_normalization(net, mean, std);
    return idx_images(images, labels, c, h, w, mean, std, n);
}

/* N samples of (c, h, w) from a raw float32 file. */
static float *file_samples(const char *path, long n, int c, int h, int w)
{
    size_t count;
    FILE *f = fopen(path, "rb");
    float *x;
    count = (size_t)n * c * h * w;
    x = n > 0 ? malloc(count * sizeof *x) : NULL;
    if (!f || !x || fread(x, sizeof *x, count, f) != count) {
        fprintf(stderr, "nn_dump: cannot read %ld samples from %s\n", n, path);
        free(x);
        x = NULL;
    }
    if (f)
        fclose(f);
    return x;
}

/* N samples of the model's input shape from a raw float32 file. */
static float *file_inputs(nn_net *net, const char *path, long n)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    return file_samples(path, n, c, h, w);
}

/* main for an int8 model file: its logits, dequantized. */
static int run_int8(int argc, char **argv, int idx)
{
    char msg[512];
    nn_qmodel *q = NULL;
    float *x = NULL, *y = NULL, mean[3], std[3];
    long n = 0;
    int c, h, w, classes, rc = 1;
    if (nn_qmodel_load(argv[1], BATCH, &q, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "nn_dump: %s\n", msg);
        return 1;
    }
    nn_qmodel_input_shape(q, &c, &h, &w);
    nn_qmodel_normalization(q, mean, std);
    classes = nn_qmodel_classes(q);
    n = idx ? 0 : strtol(argv[4], NULL, 10);
    x = idx ? idx_images(argv[3], argv[4], c, h, w, mean, std, &n)
            : file_samples(argv[3], n, c, h, w);
    y = x ? malloc((size_t)n * classes * sizeof *y) : NULL;
    for (long first = 0; x && y && first < n; first += BATCH) {
        int count = n - first < BATCH ? (int)(n - first) : BATCH;
        if (nn_qmodel_logits(q, x + (size_t)first * c * h * w, count,
                             y + (size_t)first * classes) != NN_OK) {
            free(y);
            y = NULL;
        }
    }
    if (!x || !y)
        fprintf(stderr, "nn_dump: the int8 model did not run\n");
    else if ((idx && !write_floats(argv[5], x, (size_t)n * c * h * w)) ||
             !write_floats(argv[argc - 1], y, (size_t)n * classes))
        fprintf(stderr, "nn_dump: cannot write the outputs\n");
    else {
        printf("samples %ld inputs %dx%dx%d outputs %d (int8)\n", n, c, h, w,
               classes);
        rc = 0;
    }
    free(x);
    free(y);
    nn_qmodel_free(q);
    return rc;
}

int main(int argc, char **argv)
{
    char msg[512];
    nn_net *net = NULL;
    float *x = NULL, *y = NULL;
    long n = 0;
    int c, h, w, outputs = 0, rc = 1, idx = argc == 7 && !strcmp(argv[2], "--idx");
    nn_status st;
    if (!idx && !(argc == 6 && !strcmp(argv[2], "--inputs"))) {
        fprintf(stderr, "usage: nn_dump MODEL --idx IMAGES LABELS INPUTS.f32 OUTPUTS.f32\n"
                        "       nn_dump MODEL --inputs FILE.f32 N OUTPUTS.f32\n");
        return 2;
    }
    if (nn_model_file_is_int8(argv[1]))
        return run_int8(argc, argv, idx);
    st = has_suffix(argv[1], ".onnx") ? nn_onnx_load(argv[1], BATCH, 1, &net, msg, sizeof msg)
                                      : nn_model_load_inference(argv[1], BATCH, &net, msg, sizeof msg);
    if (st != NN_OK) {
        fprintf(stderr, "nn_dump: %s\n", msg);
        return 1;
    }
    nn_net_input_shape(net, &c, &h, &w);
    n = idx ? 0 : strtol(argv[4], NULL, 10);
    x = idx ? idx_inputs(net, argv[3], argv[4], &n) : file_inputs(net, argv[3], n);
    y = x ? malloc((size_t)n * 4096 * sizeof *y) : NULL;
    if (!x || !y || !run(net, x, n, y, &outputs))
        fprintf(stderr, "nn_dump: the forward pass failed\n");
    else if ((idx && !write_floats(argv[5], x, (size_t)n * c * h * w)) ||
             !write_floats(argv[argc - 1], y, (size_t)n * outputs))
        fprintf(stderr, "nn_dump: cannot write the outputs\n");
    else {
        printf("samples %ld inputs %dx%dx%d outputs %d\n", n, c, h, w, outputs);
        rc = 0;
    }
    free(x);
    free(y);
    nn_net_destroy(net);
    return rc;
}
