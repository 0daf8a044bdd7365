/* The JSON metrics of a training run, the one writer of --json and of the
 * report's metrics.json: see report.h. */
#include "report.h"

void report_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

int report_write_json(FILE *f, const report_run *run)
{
    const report_epoch *ep = run->epochs, *last = &ep[run->epochs_done - 1];
    int classes = run->test->classes, n = run->epochs_done;
    char spec[4096];
    if (nn_net_spec(run->net, spec, sizeof spec) != NN_OK)
        spec[0] = '\0';
    fprintf(f, "{\n  \"model\": ");
    report_json_string(f, spec);
    fprintf(f, ",\n  \"parameters\": %zu,\n  \"batch\": %d,\n  \"seed\": %llu,\n",
            nn_net_param_count(run->net), run->config->batch,
            (unsigned long long)run->config->seed);
    fprintf(f, "  \"test_accuracy\": %.6f,\n  \"test_loss\": %.6f,\n",
            last->test_accuracy, last->test_loss);
    fprintf(f, "  \"epochs\": [\n");
    for (int e = run->first_epoch; e < n; e++)
        fprintf(f,
                "    {\"epoch\": %d, \"lr\": %.6g, \"train_loss\": %.6f, "
                "\"train_accuracy\": %.6f, \"test_loss\": %.6f, "
                "\"test_accuracy\": %.6f, \"seconds\": %.3f, "
                "\"images_per_second\": %.1f}%s\n",
                e + 1, ep[e].train.lr, ep[e].train.train_loss,
                ep[e].train.train_accuracy, ep[e].test_loss,
                ep[e].test_accuracy, ep[e].train.seconds,
                ep[e].train.images_per_second, e + 1 < n ? "," : "");
    fprintf(f, "  ],\n  \"confusion\": [");
    for (int i = 0; i < classes; i++) {
        fprintf(f, "%s[", i ? ", " : "");
        for (int j = 0; j < classes; j++)
            fprintf(f, "%s%ld", j ? ", " : "", run->confusion[i * classes + j]);
        fprintf(f, "]");
    }
    fprintf(f, "],\n  \"classes\": [");
    for (int k = 0; k < classes; k++)
        fprintf(f, "%s{\"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f}",
                k ? ", " : "", run->precision[k], run->recall[k], run->f1[k]);
    fprintf(f, "]\n}\n");
    return !ferror(f);
}
