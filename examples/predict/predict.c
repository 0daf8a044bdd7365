/* predict: classifies images with a saved model (libnn's .nnm, fp32 or
 * int8, or .onnx).
 *   predict MODEL IMAGE... [--resize[=bilinear|nearest]] [--top K] [--json]
 *   predict MODEL --idx IMAGES LABELS [--first N] [--top K] [--json]
 *   predict MODEL --eval DIR      (test accuracy on a dataset directory)
 * Images are PNG, binary PGM (P5) or PPM (P6), told apart by their first
 * bytes. Prints each image's class with the probabilities of every class
 * (or of the K likeliest), or one JSON object per line. Classes are
 * numbers: model files hold no class names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_data.h"
#include "cli_json.h"
#include "cli_model.h"
#include "cli_time.h"
#include "predict_image.h"

/* The usage lines, and with full the options explained (--help). */
static void usage(FILE *f, int full)
{
    fprintf(f,
        "usage: predict MODEL IMAGE... [--resize[=bilinear|nearest]] [--top K] [--json]\n"
        "       predict MODEL --idx IMAGES LABELS [--first N] [--top K] [--json]\n"
        "       predict MODEL --eval DIR\n"
        "       predict --help | --version\n");
    if (full)
        fprintf(f,
            "\n"
            "Classifies PNG, binary PGM (P5) or PPM (P6) images (or the first N,\n"
            "default 10, of an IDX file) with a libnn model (.nnm, fp32 or int8)\n"
            "or an ONNX one.\n"
            "  --eval DIR the accuracy on the test split of DIR (MNIST-style IDX\n"
            "             files or CIFAR-10 binary batches), and images/s\n"
            "  --resize   fit images of another size or channel count to the model:\n"
            "             grey from RGB by luminance, RGB from grey by copying, then\n"
            "             bilinear (the default) or nearest resampling; without it\n"
            "             such images are refused\n"
            "  --top K    the K likeliest classes instead of every probability\n"
            "  --json     one JSON object per image: file, class, probabilities\n"
            "Classes are numbered from 0: model files hold no class names.\n");
}

/* What the command line asks for. */
typedef struct {
    const char *model;
    const char **images;                 /* (count) image files */
    int count;
    const char *idx_images, *idx_labels; /* --idx; else images are files */
    const char *eval;                    /* --eval DIR */
    long first;                          /* --first: IDX images classified */
    long top;                            /* --top (0: every probability) */
    int json;                            /* --json */
    int first_given;
    resize_mode resize;                  /* --resize */
} predict_args;

/* --first N, --top K: the value after the flag, checked. */
static int parse_count(int argc, char **argv, int *i, long max, long *out)
{
    char why[160];
    const char *flag = argv[*i];
    if (*i + 1 >= argc) {
        fprintf(stderr, "predict: %s needs a value\n", flag);
        return 0;
    }
    if (!cli_parse_long(argv[++*i], 1, max, out, why, sizeof why)) {
        fprintf(stderr, "predict: %s '%s': %s\n", flag, argv[*i], why);
        return 0;
    }
    return 1;
}

/* One option at argv[*i] (moving *i past its values); 0 after printing
 * what is wrong. */
static int parse_option(int argc, char **argv, int *i, predict_args *a)
{
    const char *arg = argv[*i];
    if (!strcmp(arg, "--idx")) {
        if (*i + 2 >= argc) {
            fprintf(stderr, "predict: --idx takes IMAGES LABELS [--first N]\n");
            return 0;
        }
        a->idx_images = argv[++*i];
        a->idx_labels = argv[++*i];
        return 1;
    }
    if (!strcmp(arg, "--eval")) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "predict: --eval takes DIR\n");
            return 0;
        }
        a->eval = argv[++*i];
        return 1;
    }
    if (!strcmp(arg, "--first")) {
        a->first_given = 1;
        return parse_count(argc, argv, i, 1000000, &a->first);
    }
    if (!strcmp(arg, "--top"))
        return parse_count(argc, argv, i, 1000000, &a->top);
    if (!strcmp(arg, "--json"))
        return a->json = 1;
    if (!strcmp(arg, "--resize") || !strcmp(arg, "--resize=bilinear"))
        return (a->resize = RESIZE_BILINEAR) != RESIZE_NONE;
    if (!strcmp(arg, "--resize=nearest"))
        return (a->resize = RESIZE_NEAREST) != RESIZE_NONE;
    if (!strncmp(arg, "--resize=", 9))
        fprintf(stderr, "predict: --resize '%s': unknown; expected bilinear or "
                        "nearest\n", arg + 9);
    else if (a->idx_images)
        fprintf(stderr, "predict: unknown option '%s' after --idx\n", arg);
    else
        fprintf(stderr, "predict: unknown option '%s' (write ./%s for an image "
                        "of that name)\n", arg, arg);
    return 0;
}

/* Reads argv into a (a->images has room for argc entries); 0 after
 * printing what is wrong. */
static int parse_args(int argc, char **argv, predict_args *a)
{
    a->model = argv[1];
    if (!strncmp(argv[1], "--", 2)) {
        fprintf(stderr, "predict: unknown option '%s'; the model file comes "
                        "first (write ./%s for a file of that name)\n",
                argv[1], argv[1]);
        return 0;
    }
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--", 2))
            a->images[a->count++] = argv[i];
        else if (!parse_option(argc, argv, &i, a))
            return 0;
    }
    if (a->eval && (a->idx_images || a->count > 0 || a->first_given)) {
        fprintf(stderr, "predict: --eval takes a directory alone\n");
        return 0;
    }
    if (a->eval)
        return 1;
    if (a->idx_images && a->count > 0) {
        fprintf(stderr, "predict: give image files or --idx, not both ('%s')\n",
                a->images[0]);
        return 0;
    }
    if (!a->idx_images && (a->first_given || a->count == 0)) {
        fprintf(stderr, "predict: %s\n", a->first_given
                ? "--first is for --idx" : "no image given");
        return 0;
    }
    if (a->idx_images && a->resize != RESIZE_NONE) {
        fprintf(stderr, "predict: --resize is for image files; IDX images are "
                        "the size they are\n");
        return 0;
    }
    return 1;
}

/* The model predict runs: an fp32 net or an int8 model. */
typedef struct {
    nn_net *net;     /* fp32, or NULL */
    nn_qmodel *q;    /* int8, or NULL */
    float *x;        /* int8: (EVAL_BATCH, c, h, w) input images */
    float *probs;    /* int8: (EVAL_BATCH, classes) */
    int c, h, w, classes;
} predictor;

#define EVAL_BATCH 64

/* Loads an fp32 or int8 model for batches of up to EVAL_BATCH. */
static int predictor_load(const char *path, predictor *m, char *msg,
                          size_t msg_size)
{
    memset(m, 0, sizeof *m);
    if (nn_model_file_is_int8(path)) {
        if (nn_qmodel_load(path, EVAL_BATCH, &m->q, msg, msg_size) != NN_OK)
            return 0;
        nn_qmodel_input_shape(m->q, &m->c, &m->h, &m->w);
        m->classes = nn_qmodel_classes(m->q);
        m->x = malloc(sizeof *m->x * EVAL_BATCH * m->c * m->h * m->w);
        m->probs = malloc(sizeof *m->probs * EVAL_BATCH * m->classes);
        if (!m->x || !m->probs) {
            snprintf(msg, msg_size, "out of memory");
            return 0;
        }
        return 1;
    }
    if (cli_load_model(path, EVAL_BATCH, 1, &m->net, msg, msg_size) != NN_OK)
        return 0;
    nn_net_input_shape(m->net, &m->c, &m->h, &m->w);
    m->classes = nn_net_output(m->net)->c * nn_net_output(m->net)->h *
                 nn_net_output(m->net)->w;
    return 1;
}

static void predictor_free(predictor *m)
{
    nn_net_destroy(m->net);
    nn_qmodel_free(m->q);
    free(m->x);
    free(m->probs);
}

static void predictor_normalization(const predictor *m, float mean[3],
                                    float std[3])
{
    if (m->q)
        nn_qmodel_normalization(m->q, mean, std);
    else
        nn_net_normalization(m->net, mean, std);
}

/* Probabilities (n, classes) of samples index[0..n) of d (n <=
 * EVAL_BATCH); NULL when the model fails. */
static const float *predictor_run(predictor *m, const nn_dataset *d,
                                  const int *index, int n)
{
    int labels[EVAL_BATCH];
    if (m->q)
        return nn_dataset_batch(d, index, n, m->x, labels) == NN_OK &&
                       nn_qmodel_predict(m->q, m->x, n, m->probs) == NN_OK
                   ? m->probs : NULL;
    if (nn_dataset_batch(d, index, n, nn_net_input(m->net)->x, labels) !=
            NN_OK ||
        nn_net_forward(m->net, n) != NN_OK || nn_net_softmax(m->net) != NN_OK)
        return NULL;
    return nn_net_probs(m->net);
}

/* Classes ordered by probability, highest first (ties: lower class). */
static void rank_classes(const float *p, int classes, int *order)
{
    for (int k = 0; k < classes; k++) {
        int j = k;
        for (; j > 0 && p[order[j - 1]] < p[k]; j--)
            order[j] = order[j - 1];
        order[j] = k;
    }
}

/* One result as text: "NAME: class K (p = P)[, label L]" and then every
 * probability in class order, or the top classes with theirs. */
static void print_text(const char *name, const float *p, const int *order,
                       int classes, int top, int label)
{
    printf("%s: class %d (p = %.4f)", name, order[0], p[order[0]]);
    if (label >= 0)
        printf(", label %d", label);
    if (top == 0) {
        printf("  [");
        for (int k = 0; k < classes; k++)
            printf("%s%.3f", k ? " " : "", p[k]);
        printf("]\n");
        return;
    }
    printf("  top %d:", top);
    for (int k = 0; k < top; k++)
        printf("%s %d %.4f", k ? "," : "", order[k], p[order[k]]);
    printf("\n");
}

/* One result as a JSON object on one line. */
static void print_json(const char *file, int index, const float *p,
                       const int *order, int classes, int top, int label)
{
    printf("{\"file\": ");
    cli_json_string(stdout, file);
    if (index >= 0)
        printf(", \"index\": %d, \"label\": %d", index, label);
    printf(", \"class\": %d, \"probability\": %.6f, \"probabilities\": [",
           order[0], p[order[0]]);
    for (int k = 0; k < classes; k++)
        printf("%s%.6f", k ? ", " : "", p[k]);
    printf("]");
    if (top > 0) {
        printf(", \"top\": [");
        for (int k = 0; k < top; k++)
            printf("%s{\"class\": %d, \"probability\": %.6f}", k ? ", " : "",
                   order[k], p[order[k]]);
        printf("]");
    }
    printf("}\n");
}

/* Classifies sample `index` of d and prints the result under name (and
 * for IDX files, its index and label); the class, or -1 when the model
 * fails. */
static int classify(predictor *m, const nn_dataset *d, int index,
                    const char *name, const predict_args *a)
{
    int label, classes = m->classes, top, order[4096];
    const float *p;
    if (classes > 4096 || !(p = predictor_run(m, d, &index, 1)))
        return -1;
    rank_classes(p, classes, order);
    top = a->top > classes ? classes : (int)a->top;
    label = d->classes > 0 ? d->labels[index] : -1;
    if (a->json)
        print_json(name, a->idx_images ? index : -1, p, order, classes, top,
                   label);
    else
        print_text(name, p, order, classes, top, label);
    return order[0];
}

/* --eval: the accuracy on the test split of a->eval, in batches. */
static int predict_eval(predictor *m, const predict_args *a)
{
    char msg[512];
    nn_dataset d = {0};
    int index[EVAL_BATCH], correct = 0;
    double start, seconds;
    if (cli_load_split(a->eval, 0, &d, msg, sizeof msg) != NN_OK ||
        !cli_data_fits(&d, m->c, m->h, m->w, msg, sizeof msg)) {
        fprintf(stderr, "predict: --eval %s: %s\n", a->eval, msg);
        nn_dataset_free(&d);
        return CLI_FAIL;
    }
    predictor_normalization(m, d.mean, d.std);
    start = cli_wall_seconds();
    for (int first = 0; first < d.count; first += EVAL_BATCH) {
        int n = d.count - first < EVAL_BATCH ? d.count - first : EVAL_BATCH;
        const float *p;
        for (int i = 0; i < n; i++)
            index[i] = first + i;
        if (!(p = predictor_run(m, &d, index, n))) {
            fprintf(stderr, "predict: the model failed\n");
            nn_dataset_free(&d);
            return CLI_FAIL;
        }
        for (int i = 0; i < n; i++)
            correct += nn_argmax(p + (size_t)i * m->classes, m->classes) ==
                       d.labels[first + i];
    }
    seconds = cli_wall_seconds() - start;
    printf("accuracy: %d of %d test images = %.2f%% (%s model %s, %.0f "
           "images/s in batches of %d, 1 thread)\n", correct, d.count,
           100.0 * correct / d.count, m->q ? "int8" : "fp32", a->model,
           seconds > 0 ? d.count / seconds : 0.0, EVAL_BATCH);
    nn_dataset_free(&d);
    return CLI_OK;
}

/* Classifies the first --first images of an IDX file. */
static int predict_idx(predictor *m, const predict_args *a, int c, int h,
                       int w)
{
    char msg[512];
    nn_dataset d = {0};
    int rc = CLI_OK, correct = 0, i;
    if (nn_mnist_load(a->idx_images, a->idx_labels, &d, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "predict: %s\n", msg);
        return CLI_FAIL;
    }
    if (d.c != c || d.h != h || d.w != w) {
        fprintf(stderr, "predict: images are %dx%dx%d, the model wants %dx%dx%d\n",
                d.c, d.h, d.w, c, h, w);
        rc = CLI_FAIL;
    }
    predictor_normalization(m, d.mean, d.std);
    for (i = 0; rc == CLI_OK && i < d.count && i < a->first; i++) {
        char name[32];
        int class;
        snprintf(name, sizeof name, "image %d", i);
        class = classify(m, &d, i, a->json ? a->idx_images : name, a);
        if (class < 0)
            rc = CLI_FAIL;
        correct += class == d.labels[i];
    }
    if (rc == CLI_OK && !a->json && i > 0) /* JSON: one object a line */
        printf("accuracy: %d of %d image%s = %.2f%% (their labels: %s)\n",
               correct, i, cli_plural(i), 100.0 * correct / i, a->idx_labels);
    nn_dataset_free(&d);
    return rc;
}

/* Classifies every image file; a file that cannot be read or does not fit
 * the model is reported and the others still run. */
static int predict_files(predictor *m, const predict_args *a, int c, int h,
                         int w)
{
    char msg[512];
    nn_dataset d = {0};
    int rc = CLI_OK;
    d.count = 1;
    d.c = c;
    d.h = h;
    d.w = w;
    predictor_normalization(m, d.mean, d.std);
    d.pixels = malloc((size_t)c * h * w);
    d.labels = calloc(1, 1);
    if (!d.pixels || !d.labels) {
        fprintf(stderr, "predict: out of memory\n");
        nn_dataset_free(&d);
        return CLI_FAIL;
    }
    for (int i = 0; i < a->count; i++) {
        image img;
        int ok = image_read(a->images[i], a->resize ? 0 : w, h, &img, msg,
                            sizeof msg) &&
                 image_fit(&img, a->images[i], c, h, w, a->resize, d.pixels,
                           msg, sizeof msg);
        image_free(&img);
        if (!ok)
            fprintf(stderr, "predict: %s\n", msg);
        else if (!(ok = classify(m, &d, 0, a->images[i], a) >= 0))
            fprintf(stderr, "predict: %s: the model failed\n", a->images[i]);
        if (!ok)
            rc = CLI_FAIL;
    }
    nn_dataset_free(&d);
    return rc;
}

int main(int argc, char **argv)
{
    char msg[512] = "";
    predictor m;
    predict_args a = {0};
    int rc;
    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        usage(stdout, 1);
        return CLI_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        cli_print_version("predict");
        return CLI_OK;
    }
    a.first = 10;
    a.images = malloc(sizeof *a.images * (size_t)argc);
    if (!a.images || argc < 3 || !parse_args(argc, argv, &a)) {
        free(a.images);
        usage(stderr, 0);
        return CLI_USAGE;
    }
    if (!predictor_load(a.model, &m, msg, sizeof msg)) {
        fprintf(stderr, "predict: %s\n", msg);
        predictor_free(&m);
        free(a.images);
        return CLI_FAIL;
    }
    rc = a.eval         ? predict_eval(&m, &a)
         : a.idx_images ? predict_idx(&m, &a, m.c, m.h, m.w)
                        : predict_files(&m, &a, m.c, m.h, m.w);
    free(a.images);
    predictor_free(&m);
    return rc;
}
