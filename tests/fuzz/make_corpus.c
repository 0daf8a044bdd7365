/* Writes the fuzzers' seed corpora: tiny valid IDX pairs, CIFAR-10 batches,
 * model files saved by the library itself, and specs, plus a few broken
 * ones, laid out as each target reads its input (see fuzz_util.h). Files
 * compressed with real DEFLATE blocks come from the gzip program.
 *
 *   build-fuzz/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus
 *
 * Existing files of the same names are overwritten; others are kept (the
 * regression inputs of fixed crashes live beside the seeds). */
#include "nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;

/* root/target/name into path (the target directory is created). */
static void path_of(const char *target, const char *name, char *path,
                    size_t size)
{
    snprintf(path, size, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, size, "%s/%s/%s", root, target, name);
}

/* Writes n bytes to root/target/name, through `gzip -9 -n` when packed. */
static void write_seed(const char *target, const char *name, const void *data,
                       size_t n, int packed)
{
    char path[512], cmd[600];
    FILE *f;
    path_of(target, name, path, sizeof path);
    snprintf(cmd, sizeof cmd, "gzip -9 -n -c > '%s'", path);
    f = packed ? popen(cmd, "w") : fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || (packed ? pclose(f) : fclose(f))) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        exit(1);
    }
}

/* data packed by `gzip -9 -n` into out (at most cap bytes); its length. */
static size_t gzip_bytes(const void *data, size_t n, unsigned char *out,
                         size_t cap)
{
    char path[512];
    size_t packed;
    FILE *f;
    write_seed(".", "packing.tmp", data, n, 1);
    path_of(".", "packing.tmp", path, sizeof path);
    f = fopen(path, "rb");
    packed = f ? fread(out, 1, cap, f) : 0;
    if (!f || !feof(f)) {
        fprintf(stderr, "make_corpus: cannot pack %zu bytes\n", n);
        exit(1);
    }
    fclose(f);
    remove(path);
    return packed;
}

/* A fuzz_split input: mode, part 0's length, part 0, part 1. */
static void write_parts(const char *target, const char *name, unsigned mode,
                        const void *part0, size_t n0, const void *part1,
                        size_t n1)
{
    unsigned char *buf = malloc(3 + n0 + n1);
    if (!buf)
        exit(1);
    buf[0] = (unsigned char)mode;
    buf[1] = (unsigned char)n0;
    buf[2] = (unsigned char)(n0 >> 8);
    memcpy(buf + 3, part0, n0);
    memcpy(buf + 3 + n0, part1, n1);
    write_seed(target, name, buf, 3 + n0 + n1, 0);
    free(buf);
}

static void put_be32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* ------------------------------------------------------------------ IDX */

/* IDX label file of n labels and image file of n rows x cols images. */
static size_t idx_pair(unsigned char *labels, unsigned char *images, int n,
                       int rows, int cols, size_t *labels_size)
{
    size_t pixels = (size_t)n * rows * cols;
    put_be32(labels, 0x801), put_be32(labels + 4, (unsigned)n);
    put_be32(images, 0x803), put_be32(images + 4, (unsigned)n);
    put_be32(images + 8, (unsigned)rows), put_be32(images + 12, (unsigned)cols);
    for (int i = 0; i < n; i++)
        labels[8 + i] = (unsigned char)(i % 10);
    for (size_t p = 0; p < pixels; p++)
        images[16 + p] = (unsigned char)(p % 7 == 0 ? 255 : p * 13);
    *labels_size = 8 + (size_t)n;
    return 16 + pixels;
}

static void idx_seeds(void)
{
    unsigned char labels[64], images[16 + 6 * 16 * 16], gz[4096];
    size_t nl, ni = idx_pair(labels, images, 2, 3, 4, &nl);
    char name[32];
    for (unsigned mode = 0; mode < 4; mode++) {
        snprintf(name, sizeof name, "valid_mode%u", mode);
        write_parts("fuzz_idx", name, mode, labels, nl, images, ni);
    }
    write_parts("fuzz_idx", "truncated_images", 0, labels, nl, images, ni - 1);
    write_parts("fuzz_idx", "short_header", 0, labels, nl, images, 10);
    labels[9] = 10;
    write_parts("fuzz_idx", "bad_label", 0, labels, nl, images, ni);
    labels[9] = 1;
    put_be32(images, 0x801);
    write_parts("fuzz_idx", "bad_magic", 0, labels, nl, images, ni);
    /* real DEFLATE blocks: part 1 is the image file packed by gzip */
    ni = idx_pair(labels, images, 6, 16, 16, &nl);
    ni = gzip_bytes(images, ni, gz, sizeof gz);
    write_parts("fuzz_idx", "valid_deflate", 0, labels, nl, gz, ni);
}

/* -------------------------------------------------------------- CIFAR-10 */

enum { RECORD = 3073 };

static void cifar_seeds(void)
{
    static unsigned char records[3 * RECORD], gz[2 * RECORD];
    size_t n;
    for (int r = 0; r < 3; r++) {
        unsigned char *rec = records + r * RECORD;
        rec[0] = (unsigned char)(r * 4);
        for (int p = 1; p < RECORD; p++)
            rec[p] = (unsigned char)((p / 32 + r) % 16 * 16);
    }
    write_parts("fuzz_cifar", "one_file", 0, "", 0, records, RECORD);
    write_parts("fuzz_cifar", "two_files", 1, records, RECORD,
                records + RECORD, 2 * RECORD);
    write_parts("fuzz_cifar", "gzip_stored", 2, "", 0, records, RECORD);
    write_parts("fuzz_cifar", "short_record", 0, "", 0, records, RECORD - 1);
    records[0] = 10;
    write_parts("fuzz_cifar", "bad_label", 0, "", 0, records, RECORD);
    records[0] = 0;
    n = gzip_bytes(records, RECORD, gz, sizeof gz); /* real DEFLATE blocks */
    write_parts("fuzz_cifar", "deflate_one_record", 0, "", 0, gz, n);
}

/* ---------------------------------------------------------------- models */

/* Builds spec on (c, h, w), trains it one step so nothing is at its
 * initial value, and saves it as root/fuzz_model/name (gzip -9 too). */
static void model_seed(const char *name, int c, int h, int w, const char *spec)
{
    static const float mean[3] = {0.5f, 0.25f, 0.125f}, std[3] = {2, 3, 4};
    nn_optim_settings sgd = nn_optim_defaults(NN_OPTIM_SGD);
    nn_optim *opt = NULL;
    char path[512], msg[256];
    nn_net *net = NULL;
    nn_tensor *in;
    int labels[2] = {0, 1};
    float loss;
    path_of("fuzz_model", name, path, sizeof path);
    sgd.lr = 0.1f;
    sgd.momentum = 0.9f;
    if (nn_net_create(c, h, w, &net) != NN_OK ||
        nn_net_add_spec(net, spec, msg, sizeof msg) != NN_OK ||
        nn_net_build(net, 2, 7) != NN_OK ||
        nn_net_set_normalization(net, mean, std) != NN_OK ||
        nn_optim_create(net, &sgd, &opt) != NN_OK) {
        fprintf(stderr, "make_corpus: %s: cannot build %s\n", name, spec);
        exit(1);
    }
    in = nn_net_input(net);
    for (size_t i = 0; i < nn_tensor_count(in); i++)
        in->x[i] = (float)(i % 5) - 2.0f;
    nn_net_forward(net, 2);
    nn_net_softmax_xent(net, labels, &loss);
    nn_net_backward(net);
    nn_optim_step(opt, net);
    nn_optim_destroy(opt);
    if (nn_model_save(net, path, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "make_corpus: %s\n", msg);
        exit(1);
    }
    nn_net_destroy(net);
}

/* root/fuzz_model/name packed by gzip as name_gzip (.gz is git-ignored). */
static void pack_model(const char *name)
{
    char path[512], gz_name[64];
    unsigned char buf[8192];
    size_t n;
    FILE *f;
    path_of("fuzz_model", name, path, sizeof path);
    f = fopen(path, "rb");
    n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (!f || !feof(f)) {
        fprintf(stderr, "make_corpus: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    snprintf(gz_name, sizeof gz_name, "%s_gzip", name);
    write_seed("fuzz_model", gz_name, buf, n, 1);
}

static void model_seeds(void)
{
    model_seed("dense", 1, 2, 2, "dense3");
    model_seed("cnn_bn", 1, 4, 4, "conv3x3x2p1,bn,relu,pool2,dense4");
    model_seed("strided", 2, 3, 3, "conv2x2x3s2,sigmoid,dense2,tanh");
    model_seed("pool_dropout_layers", 1, 6, 6, "conv3x3x2p1,leakyrelu0.1,avgpool3s2p1,"
                                      "bn,dropout0.5,gap,dense3");
    model_seed("mlp_bn", 3, 2, 2, "dense5,bn,relu,dense2");
    pack_model("cnn_bn");
}

/* Builds spec on (c, h, w) with its initial weights, quantizes it on a few
 * made-up images and saves it as root/fuzz_qmodel/name. */
static void qmodel_seed(const char *name, int c, int h, int w, const char *spec)
{
    char path[512], msg[256];
    nn_net *net = NULL;
    nn_qmodel *q = NULL;
    float images[4 * 3 * 8 * 8];
    path_of("fuzz_qmodel", name, path, sizeof path);
    for (size_t i = 0; i < sizeof images / sizeof *images; i++)
        images[i] = (float)(i % 7) * 0.3f - 0.9f;
    if (c * h * w > 3 * 8 * 8 || nn_net_create(c, h, w, &net) != NN_OK ||
        nn_net_add_spec(net, spec, msg, sizeof msg) != NN_OK ||
        nn_net_build(net, 4, 7) != NN_OK ||
        nn_quantize(net, images, 4, NULL, &q, msg, sizeof msg) != NN_OK ||
        nn_qmodel_save(q, path, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "make_corpus: %s: cannot quantize %s\n", name, spec);
        exit(1);
    }
    nn_qmodel_free(q);
    nn_net_destroy(net);
}

static void qmodel_seeds(void)
{
    qmodel_seed("dense", 1, 2, 2, "dense3");
    qmodel_seed("cnn_bn", 1, 4, 4, "conv3x3x2p1,bn,relu,pool2,dense4");
    qmodel_seed("strided", 2, 3, 3, "conv2x2x3s2,sigmoid,dense2,tanh");
    qmodel_seed("graph", 1, 6, 6, "conv3x3x2p1,bn,relu@a,conv3x3x2p1,add(a),"
                                  "leakyrelu0.1,avgpool3s2p1@p,conv1x1x2,"
                                  "concat(p),bn,gap,dense3");
}

/* ----------------------------------------------------------------- specs */

static void spec_seed(const char *name, int shape, const char *spec)
{
    char buf[512];
    buf[0] = (char)shape;
    memcpy(buf + 1, spec, strlen(spec));
    write_seed("fuzz_spec", name, buf, 1 + strlen(spec), 0);
}

static void spec_seeds(void)
{
    spec_seed("mlp", 4, "mlp");
    spec_seed("lenet", 4, "lenet");
    spec_seed("vgg_tokens", 2, "conv3x3x4p1,bn,relu,pool2,dense8,bn,relu,dense3");
    spec_seed("every_token", 1,
              "conv3x3x2s2p1,sigmoid,conv1x2x3,tanh,pool1s2,bn,relu,dense2");
    spec_seed("blanks", 3, " conv2x2x2 ,\trelu,\npool2s1 , dense4 ");
    spec_seed("one_by_one", 0, "dense1,bn,dense1");
    spec_seed("too_big_kernel", 0, "conv3x3x1");
    spec_seed("bad_token", 1, "conv3x3,relu");
    spec_seed("zero", 1, "dense0");
    spec_seed("bounds", 1, "pool1024s1024,dense16777216");
    spec_seed("pool_dropout_tokens", 2, "conv3x3x4p1,leakyrelu0.2,avgpool3s2p1,"
                               "dropout0.25,gap,dense3");
    spec_seed("avgpool_pad", 1, "avgpool2p1,dropout,leakyrelu");
    spec_seed("layer_options", 2, "conv3x3x2p1,bneps0.001,relu,pool3s2p1c,"
                                  "avgpool2x3s1p1ce,dense2");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    idx_seeds();
    cifar_seeds();
    model_seeds();
    qmodel_seeds();
    spec_seeds();
    return 0;
}
