/* The JSON metrics of a training run, the one writer of --json and of the
 * report's metrics.json: see report.h. metrics_json.c reads it back for
 * comparisons; a key added here is one it may be taught to read. */
#include "report.h"
#include "cli_json.h"
#include "cli_model.h"
#include "diagnostics.h"

#include <math.h>

double report_run_seconds(const report_run *run)
{
    double seconds = 0;
    for (int e = run->first_epoch; e < run->epochs_done; e++)
        seconds += run->epochs[e].train.seconds;
    return seconds;
}

double report_run_images_per_second(const report_run *run)
{
    double images = 0, seconds = report_run_seconds(run);
    for (int e = run->first_epoch; e < run->epochs_done; e++)
        images += (double)run->epochs[e].train.images;
    return seconds > 0 ? images / seconds : 0;
}

/* "settings": {"model": "lenet", "lr": "0.05", ...}: every value a string. */
static void json_settings(FILE *f, const report_settings *s)
{
    fprintf(f, "  \"settings\": {");
    for (int i = 0; s && i < s->count; i++) {
        fprintf(f, "%s", i ? ", " : "");
        cli_json_string(f, s->key[i]);
        fprintf(f, ": ");
        cli_json_string(f, s->value[i]);
    }
    fprintf(f, "},\n");
}

/* A statistic, or null when it does not apply. */
static void json_number(FILE *f, const char *key, double v, const char *after)
{
    if (isfinite(v))
        fprintf(f, "\"%s\": %.6g%s", key, v, after);
    else
        fprintf(f, "\"%s\": null%s", key, after);
}

/* A graph's layer: ", "name": "s0", "reads": [7, 2]" (-1 the net's input). */
static void json_graph(FILE *f, const nn_layer_info *info)
{
    fprintf(f, ", \"name\": ");
    cli_json_string(f, info->name);
    fprintf(f, ", \"reads\": [");
    for (int k = 0; k < info->inputs; k++)
        fprintf(f, "%s%d", k ? ", " : "", info->from[k]);
    fprintf(f, "]");
}

/* "diagnostics": the warnings, and each layer's statistics per epoch (the
 * last DIAG_JSON_EPOCHS epochs measured) for layers with weights or relus;
 * in a graph each also with its name and the layers it reads. */
static void json_diagnostics(FILE *f, const report_run *run)
{
    const diag_run *d = run->diagnostics;
    int from = run->epochs_done - DIAG_JSON_EPOCHS, comma = 0;
    int graph = cli_net_is_graph(run->net);
    fprintf(f, ",\n  \"diagnostics\": {\"warnings\": [");
    for (int i = 0; i < d->warning_count; i++) {
        static const char *const kinds[] = {"chance", "vanishing", "exploding",
                                            "dead", "overfitting"};
        fprintf(f, "%s\n    {\"epoch\": %d, \"kind\": \"%s\", \"text\": ",
                i ? "," : "", d->warnings[i].epoch, kinds[d->warnings[i].kind]);
        cli_json_string(f, d->warnings[i].text);
        fprintf(f, "}");
    }
    fprintf(f, "],\n  \"epochs\": [");
    for (int e = from > 0 ? from : 0; e < run->epochs_done; e++) {
        int first = 1;
        if (!diag_stats(d, e, 0))
            continue;
        fprintf(f, "%s\n    {\"epoch\": %d, \"layers\": [", comma++ ? "," : "", e + 1);
        for (int i = 0; i < d->layers; i++) {
            const diag_layer *s = diag_stats(d, e, i);
            nn_layer_info info;
            if (isnan(s->weight_norm) && isnan(s->dead))
                continue;
            if (nn_net_layer_info(run->net, i, &info) != NN_OK)
                continue;
            fprintf(f, "%s{\"layer\": %d, \"kind\": ", first ? "" : ", ", i);
            cli_json_string(f, info.kind);
            if (graph)
                json_graph(f, &info);
            fprintf(f, ", ");
            json_number(f, "weight_norm", s->weight_norm, ", ");
            json_number(f, "grad_norm", s->grad_norm, ", ");
            json_number(f, "update_ratio", s->update_ratio, ", ");
            json_number(f, "dead", s->dead, "}");
            first = 0;
        }
        fprintf(f, "]}");
    }
    fprintf(f, "]}");
}

int report_write_json(FILE *f, const report_run *run)
{
    const report_epoch *ep = run->epochs, *last = &ep[run->epochs_done - 1];
    int classes = run->test->classes, n = run->epochs_done;
    char spec[4096];
    if (nn_net_spec(run->net, spec, sizeof spec) != NN_OK)
        spec[0] = '\0';
    fprintf(f, "{\n  \"model\": ");
    cli_json_string(f, spec);
    fprintf(f, ",\n  \"parameters\": %zu,\n  \"batch\": %d,\n  \"seed\": %llu,\n",
            nn_net_param_count(run->net), run->config->batch,
            (unsigned long long)run->config->seed);
    json_settings(f, run->settings);
    fprintf(f, "  \"planned_epochs\": %d,\n  \"finished\": %s,\n"
               "  \"seconds\": %.3f,\n  \"images_per_second\": %.1f,\n",
            run->config->epochs, run->finished ? "true" : "false",
            report_run_seconds(run), report_run_images_per_second(run));
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
    fprintf(f, "]");
    if (run->diagnostics)
        json_diagnostics(f, run);
    fprintf(f, "\n}\n");
    return !ferror(f);
}
