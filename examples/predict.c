/* predict: classifies images with a saved model (libnn's .nnm or .onnx).
 *   predict MODEL IMAGE.pgm|IMAGE.ppm ...     binary PGM (P5) or PPM (P6)
 *   predict MODEL --idx IMAGES LABELS [--first N]
 * Prints each image's class and the probabilities of every class. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: predict MODEL IMAGE.pgm|IMAGE.ppm ...\n"
               "       predict MODEL --idx IMAGES LABELS [--first N]\n");
}

/* Reads one whitespace-separated header number of a PNM file, skipping
 * comments; -1 when there is none. */
static long pnm_number(FILE *f)
{
    int ch;
    long v = 0;
    do {
        ch = fgetc(f);
        if (ch == '#')
            while (ch != '\n' && ch != EOF)
                ch = fgetc(f);
    } while (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r');
    if (ch < '0' || ch > '9')
        return -1;
    for (; ch >= '0' && ch <= '9'; ch = fgetc(f))
        if ((v = v * 10 + (ch - '0')) > 100000)
            return -1;
    return v; /* the one whitespace byte after the number is consumed */
}

/* Loads a binary PGM/PPM whose shape must be the net's input (c, h, w),
 * as bytes in (c, h, w) order. */
static int load_pnm(const char *path, int c, int h, int w, uint8_t *pixels,
                    char *msg, size_t msg_size)
{
    FILE *f = cli_open_regular(path, msg, msg_size);
    char magic[3] = "";
    long width, height, maxval;
    size_t n = (size_t)c * h * w;
    uint8_t *raw;
    int ok = 0;
    if (!f)
        return 0;
    if (fread(magic, 1, 2, f) != 2 || (strcmp(magic, "P5") && strcmp(magic, "P6")))
        snprintf(msg, msg_size, "%s: not a binary PGM (P5) or PPM (P6) file", path);
    else if ((magic[1] == '5') != (c == 1) || (magic[1] == '6') != (c == 3))
        snprintf(msg, msg_size, "%s: the model wants %d channel%s", path, c,
                 c == 1 ? " (PGM)" : "s (PPM)");
    else if ((width = pnm_number(f)) != w || (height = pnm_number(f)) != h)
        snprintf(msg, msg_size, "%s: the model wants %dx%d images", path, w, h);
    else if ((maxval = pnm_number(f)) != 255)
        snprintf(msg, msg_size, "%s: only 8-bit images (maxval 255) are read", path);
    else if (!(raw = malloc(n)))
        snprintf(msg, msg_size, "%s: out of memory", path);
    else {
        if (fread(raw, 1, n, f) != n)
            snprintf(msg, msg_size, "%s: truncated pixel data", path);
        else {
            /* PPM interleaves RGB; the net wants planes. */
            for (size_t i = 0; i < (size_t)h * w; i++)
                for (int ch = 0; ch < c; ch++)
                    pixels[(size_t)ch * h * w + i] = raw[i * c + ch];
            ok = 1;
        }
        free(raw);
    }
    fclose(f);
    return ok;
}

/* Classifies sample `index` of d and prints the result. */
static int classify(nn_net *net, const nn_dataset *d, int index,
                    const char *name)
{
    int label;
    float loss;
    const float *p;
    int classes;
    if (nn_dataset_batch(d, &index, 1, nn_net_input(net)->x, &label) != NN_OK ||
        nn_net_forward(net, 1) != NN_OK)
        return 0;
    classes = nn_net_output(net)->c;
    if (label >= classes)
        label = 0;
    if (nn_net_softmax_xent(net, &label, &loss) != NN_OK)
        return 0;
    p = nn_net_probs(net);
    printf("%s: class %d (p = %.4f)", name, nn_argmax(p, classes),
           p[nn_argmax(p, classes)]);
    if (d->classes > 0)
        printf(", label %d", d->labels[index]);
    printf("  [");
    for (int k = 0; k < classes; k++)
        printf("%s%.3f", k ? " " : "", p[k]);
    printf("]\n");
    return 1;
}

/* What the command line asks for. */
typedef struct {
    const char *model;
    const char *idx_images, *idx_labels; /* --idx; else images are files */
    long first;                          /* --first: IDX images classified */
} predict_args;

/* Reads argv into a; 0 after printing what is wrong. */
static int parse_args(int argc, char **argv, predict_args *a)
{
    char why[160];
    a->model = argv[1];
    a->idx_images = a->idx_labels = NULL;
    a->first = 10;
    if (!strncmp(argv[1], "--", 2)) {
        fprintf(stderr, "predict: unknown option '%s'; the model file comes "
                        "first (write ./%s for a file of that name)\n",
                argv[1], argv[1]);
        return 0;
    }
    if (!strcmp(argv[2], "--idx")) {
        if (argc != 5 && argc != 7) {
            fprintf(stderr, "predict: --idx takes IMAGES LABELS [--first N]\n");
            return 0;
        }
        a->idx_images = argv[3];
        a->idx_labels = argv[4];
        if (argc == 7 && strcmp(argv[5], "--first")) {
            fprintf(stderr, "predict: unknown option '%s' after --idx\n", argv[5]);
            return 0;
        }
        if (argc == 7 && !cli_parse_long(argv[6], 1, 1000000, &a->first, why,
                                         sizeof why)) {
            fprintf(stderr, "predict: --first '%s': %s\n", argv[6], why);
            return 0;
        }
        return 1;
    }
    for (int i = 2; i < argc; i++)
        if (!strncmp(argv[i], "--", 2)) {
            fprintf(stderr, "predict: unknown option '%s' (write ./%s for an "
                            "image of that name)\n", argv[i], argv[i]);
            return 0;
        }
    return 1;
}

int main(int argc, char **argv)
{
    char msg[512] = "";
    nn_net *net = NULL;
    nn_dataset d = {0};
    predict_args a;
    int c, h, w, rc = CLI_OK;
    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (argc < 3 || !parse_args(argc, argv, &a)) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (cli_load_model(a.model, 1, 1, &net, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "predict: %s\n", msg);
        return CLI_FAIL;
    }
    nn_net_input_shape(net, &c, &h, &w);
    if (a.idx_images) {
        if (nn_mnist_load(a.idx_images, a.idx_labels, &d, msg, sizeof msg) != NN_OK) {
            fprintf(stderr, "predict: %s\n", msg);
            rc = CLI_FAIL;
        } else if (d.c != c || d.h != h || d.w != w) {
            fprintf(stderr, "predict: images are %dx%dx%d, the model wants %dx%dx%d\n",
                    d.c, d.h, d.w, c, h, w);
            rc = CLI_FAIL;
        }
        nn_net_normalization(net, d.mean, d.std);
        for (int i = 0; rc == CLI_OK && i < d.count && i < a.first; i++) {
            char name[32];
            snprintf(name, sizeof name, "image %d", i);
            if (!classify(net, &d, i, name))
                rc = CLI_FAIL;
        }
    } else {
        d.count = 1;
        d.c = c;
        d.h = h;
        d.w = w;
        nn_net_normalization(net, d.mean, d.std);
        d.pixels = malloc((size_t)c * h * w);
        d.labels = calloc(1, 1);
        if (!d.pixels || !d.labels)
            rc = CLI_FAIL;
        for (int i = 2; rc == CLI_OK && i < argc; i++) {
            if (!load_pnm(argv[i], c, h, w, d.pixels, msg, sizeof msg)) {
                fprintf(stderr, "predict: %s\n", msg);
                rc = CLI_FAIL;
            } else if (!classify(net, &d, 0, argv[i]))
                rc = CLI_FAIL;
        }
    }
    nn_dataset_free(&d);
    nn_net_destroy(net);
    return rc;
}
