/* libnn's side of test_compile_c.sh:
 *   compile_c_ref make SPEC C H W SEED MODEL INPUTS N
 *     a net of input (C, H, W) from SPEC with weights from SEED and
 *     batchnorm statistics, gammas and betas drawn away from their initial
 *     1s and 0s, saved to MODEL; N random inputs in [-1, 1) to INPUTS
 *     (raw floats);
 *   compile_c_ref inputs C H W SEED INPUTS N
 *     only the inputs;
 *   compile_c_ref check MODEL INPUTS N OUTPUTS TOLERANCE
 *     libnn's logits and nn_net_softmax probabilities of the inputs against
 *     OUTPUTS (per sample: the compiled model's logits, then probabilities,
 *     raw floats); prints the largest differences and fails when a
 *     probability is off by more than TOLERANCE;
 *   compile_c_ref quantize MODEL CALIBRATION N QMODEL
 *     MODEL quantized to an int8 model (nn_quantize, min-max) on the N
 *     samples of CALIBRATION (raw floats), saved to QMODEL;
 *   compile_c_ref qcheck QMODEL INPUTS N OUTPUTS
 *     the int8 model's nn_qmodel_logits and nn_qmodel_predict floats of
 *     the inputs against OUTPUTS (laid out as for check), bit for bit:
 *     prints how many floats differ and fails when one does. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

/* count floats of path into x (NULL: write x to path instead) */
static int file_floats(const char *path, float *x, size_t count, int write)
{
    FILE *f = fopen(path, write ? "wb" : "rb");
    size_t done;
    if (!f) {
        fprintf(stderr, "compile_c_ref: cannot open %s\n", path);
        return 0;
    }
    done = write ? fwrite(x, sizeof *x, count, f) : fread(x, sizeof *x, count, f);
    if (fclose(f) != 0 || done != count) {
        fprintf(stderr, "compile_c_ref: %s: %zu of %zu floats\n", path, done, count);
        return 0;
    }
    return 1;
}

/* Statistics away from the identity, so that batchnorm's formula counts:
 * running mean in [-0.5, 0.5), variance in [0.5, 2.5), gamma in
 * [0.5, 1.5), beta in [-0.5, 0.5). */
static void shake_batchnorm(nn_net *net, nn_rng *rng)
{
    float *state = nn_net_state(net);
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        float *params, *grads;
        size_t count;
        nn_net_layer_info(net, i, &info);
        if (info.state == 0)
            continue;
        nn_net_layer_params(net, i, &params, &grads, &count);
        for (size_t k = 0; k < info.state / 2; k++) {
            state[k] = nn_rng_uniform(rng) - 0.5f;
            state[info.state / 2 + k] = 0.5f + 2.0f * nn_rng_uniform(rng);
            params[k] = 0.5f + nn_rng_uniform(rng);
            params[count / 2 + k] = nn_rng_uniform(rng) - 0.5f;
        }
        state += info.state;
    }
}

/* N random inputs of (C, H, W) in [-1, 1) to path */
static int inputs(int c, int h, int w, nn_rng *rng, const char *path, int n)
{
    size_t count = (size_t)n * c * h * w;
    float *x = malloc(count * sizeof *x);
    int ok = x != NULL;
    for (size_t i = 0; ok && i < count; i++)
        x[i] = 2.0f * nn_rng_uniform(rng) - 1.0f;
    ok = ok && file_floats(path, x, count, 1);
    free(x);
    return ok;
}

static int make(char **argv)
{
    char msg[256];
    int c = atoi(argv[3]), h = atoi(argv[4]), w = atoi(argv[5]), n = atoi(argv[9]);
    nn_net *net = NULL;
    nn_rng rng;
    int ok = 1;
    nn_rng_seed(&rng, strtoull(argv[6], NULL, 10));
    if ((nn_net_create(c, h, w, &net) != NN_OK ||
               nn_net_add_spec(net, argv[2], msg, sizeof msg) != NN_OK ||
               nn_net_build(net, 1, strtoull(argv[6], NULL, 10)) != NN_OK)) {
        fprintf(stderr, "compile_c_ref: %s: %s\n", argv[2], msg);
        ok = 0;
    }
    if (ok) {
        shake_batchnorm(net, &rng);
        if (nn_model_save(net, argv[7], msg, sizeof msg) != NN_OK) {
            fprintf(stderr, "compile_c_ref: %s\n", msg);
            ok = 0;
        }
    }
    ok = ok && inputs(c, h, w, &rng, argv[8], n);
    nn_net_destroy(net);
    return ok ? 0 : 1;
}

static int check(char **argv)
{
    char msg[256];
    int n = atoi(argv[4]), c, h, w, classes;
    double tolerance = atof(argv[6]), logit_diff = 0.0, logit_rel = 0.0,
           prob_diff = 0.0;
    nn_net *net = NULL;
    float *got = NULL;
    const float *logits, *probs;
    if (nn_model_load_inference(argv[2], n, &net, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "compile_c_ref: %s\n", msg);
        return 1;
    }
    nn_net_input_shape(net, &c, &h, &w);
    if (!file_floats(argv[3], nn_net_input(net)->x, (size_t)n * c * h * w, 0) ||
        nn_net_forward(net, n) != NN_OK || nn_net_softmax(net) != NN_OK) {
        nn_net_destroy(net);
        return 1;
    }
    logits = nn_net_output(net)->x;
    probs = nn_net_probs(net);
    classes = nn_net_output(net)->c * nn_net_output(net)->h * nn_net_output(net)->w;
    got = malloc(2 * (size_t)n * classes * sizeof *got);
    if (!got || !file_floats(argv[5], got, 2 * (size_t)n * classes, 0)) {
        free(got);
        nn_net_destroy(net);
        return 1;
    }
    for (int s = 0; s < n; s++)
        for (int j = 0; j < classes; j++) {
            double want = logits[s * classes + j];
            double d = fabs(got[2 * s * classes + j] - want);
            double p = fabs(got[(2 * s + 1) * classes + j] - probs[s * classes + j]);
            logit_diff = d > logit_diff || d != d ? d : logit_diff;
            d /= fabs(want) > 1.0 ? fabs(want) : 1.0;
            logit_rel = d > logit_rel || d != d ? d : logit_rel;
            prob_diff = p > prob_diff || p != p ? p : prob_diff;
        }
    printf("%s: %d samples, max |logit diff| %.3g (relative to max(1,|logit|) "
           "%.3g), max |prob diff| %.3g (tolerance %.3g)\n",
           argv[2], n, logit_diff, logit_rel, prob_diff, tolerance);
    free(got);
    nn_net_destroy(net);
    return prob_diff <= tolerance ? 0 : 1;
}

static int quantize(char **argv)
{
    char msg[256];
    int n = atoi(argv[4]), c, h, w, ok = 1;
    nn_net *net = NULL;
    nn_qmodel *q = NULL;
    float *x = NULL;
    if (nn_model_load_inference(argv[2], 1, &net, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "compile_c_ref: %s\n", msg);
        return 1;
    }
    nn_net_input_shape(net, &c, &h, &w);
    x = malloc((size_t)n * c * h * w * sizeof *x);
    ok = x && file_floats(argv[3], x, (size_t)n * c * h * w, 0);
    if (ok && (nn_quantize(net, x, n, NULL, &q, msg, sizeof msg) != NN_OK ||
               nn_qmodel_save(q, argv[5], msg, sizeof msg) != NN_OK)) {
        fprintf(stderr, "compile_c_ref: %s: %s\n", argv[2], msg);
        ok = 0;
    }
    nn_qmodel_free(q);
    nn_net_destroy(net);
    free(x);
    return ok ? 0 : 1;
}

/* The bits of a float (NaN or -0 compare as they are). */
static uint32_t bits_of(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static int qcheck(char **argv)
{
    char msg[256];
    int n = atoi(argv[4]), c, h, w, classes, ok = 1;
    size_t logit_diff = 0, prob_diff = 0, per;
    nn_qmodel *q = NULL;
    float *x = NULL, *logits = NULL, *probs = NULL, *got = NULL;
    if (nn_qmodel_load(argv[2], n, &q, msg, sizeof msg) != NN_OK) {
        fprintf(stderr, "compile_c_ref: %s\n", msg);
        return 1;
    }
    nn_qmodel_input_shape(q, &c, &h, &w);
    classes = nn_qmodel_classes(q);
    per = (size_t)n * classes;
    x = malloc((size_t)n * c * h * w * sizeof *x);
    logits = malloc(per * sizeof *logits);
    probs = malloc(per * sizeof *probs);
    got = malloc(2 * per * sizeof *got);
    ok = x && logits && probs && got &&
         file_floats(argv[3], x, (size_t)n * c * h * w, 0) &&
         file_floats(argv[5], got, 2 * per, 0) &&
         nn_qmodel_logits(q, x, n, logits) == NN_OK &&
         nn_qmodel_predict(q, x, n, probs) == NN_OK;
    for (int s = 0; ok && s < n; s++)
        for (int j = 0; j < classes; j++) {
            size_t k = (size_t)s * classes + j;
            logit_diff += bits_of(got[2 * (size_t)s * classes + j]) != bits_of(logits[k]);
            prob_diff += bits_of(got[(2 * (size_t)s + 1) * classes + j]) != bits_of(probs[k]);
        }
    if (ok)
        printf("%s: %d samples x %d classes, int8 C vs libnn: %zu logits and "
               "%zu probabilities differ in any bit\n", argv[2], n, classes,
               logit_diff, prob_diff);
    ok = ok && logit_diff == 0 && prob_diff == 0;
    nn_qmodel_free(q);
    free(x);
    free(logits);
    free(probs);
    free(got);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 10 && !strcmp(argv[1], "make"))
        return make(argv);
    if (argc == 8 && !strcmp(argv[1], "inputs")) {
        nn_rng rng;
        nn_rng_seed(&rng, strtoull(argv[5], NULL, 10));
        return inputs(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), &rng,
                      argv[6], atoi(argv[7])) ? 0 : 1;
    }
    if (argc == 7 && !strcmp(argv[1], "check"))
        return check(argv);
    if (argc == 6 && !strcmp(argv[1], "quantize"))
        return quantize(argv);
    if (argc == 6 && !strcmp(argv[1], "qcheck"))
        return qcheck(argv);
    fprintf(stderr, "usage: compile_c_ref make SPEC C H W SEED MODEL INPUTS N\n"
                    "       compile_c_ref inputs C H W SEED INPUTS N\n"
                    "       compile_c_ref check MODEL INPUTS N OUTPUTS TOLERANCE\n"
                    "       compile_c_ref quantize MODEL CALIBRATION N QMODEL\n"
                    "       compile_c_ref qcheck QMODEL INPUTS N OUTPUTS\n");
    return 2;
}
