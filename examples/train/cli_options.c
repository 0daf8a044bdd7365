/* The trainers' command line: the table of options and its parser, the
 * checks of values, combinations and outputs (see cli.h). */
#include "cli.h"
#include "cli_file.h"
#include "nn/advanced.h"

#include <ctype.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cli_defaults(cli_options *o, const char *default_model)
{
    memset(o, 0, sizeof *o);
    o->model = default_model;
    o->train = nn_train_defaults();
    o->shards = NN_SHARDS_DEFAULT;
}

/* "mlp, lenet, ...": the library's presets (nn_spec_preset_name), for
 * messages. */
static const char *preset_list(void)
{
    static char list[256]; /* the same text every time: no state to share */
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; nn_spec_preset_name(i) && used < sizeof list; i++) {
        int len = snprintf(list + used, sizeof list - used, "%s%s",
                           i ? ", " : "", nn_spec_preset_name(i));
        if (len < 0)
            break;
        used += (size_t)len;
    }
    return list;
}

static void usage(FILE *f, const char *program, const char *data_help)
{
    fprintf(f,
            "usage: %s [options]\n"
            "  --data DIR            %s\n"
            "  --model NAME|SPEC     a spec such as conv3x3x32p1,bn,relu,pool2,dense10\n"
            "                        (its layer tokens: --help-layers) or a preset:\n"
            "                        %s\n"
            "  --epochs N            passes over the training set (10)\n"
            "  --batch N             minibatch size (64; a resumed run keeps its\n"
            "                        checkpoint's)\n"
            "  --lr X                base learning rate (0.05; other optimizers:\n"
            "                        their PyTorch default)\n"
            "  --momentum X          SGD and RMSprop momentum (0.9)\n"
            "  --weight-decay X      L2 weight decay on weights (5e-4; AdamW:\n"
            "                        decoupled, 0.01; Adam, RMSprop: 0)\n"
            "  --nesterov            Nesterov momentum\n"
            "  --optimizer NAME      sgd, adam, rmsprop or adamw (sgd)\n"
            "  --schedule KIND       constant, step, exp or cosine (cosine)\n"
            "  --gamma X             factor of the step and exp schedules (0.1)\n"
            "  --warmup X            epochs of linear warm-up (0)\n"
            "  --seed N              initialisation and shuffling seed (1; a resumed\n"
            "                        run continues its checkpoint's generator)\n"
            "  --threads N           worker threads, 1 to 64 (all online CPUs)\n"
            "  --shards N            cut every batch into N shards, summed in a fixed\n"
            "                        order (%d): the bits depend on N, not on threads\n"
            "                        or processes; P processes of the _mpi trainers\n"
            "                        give one process's bits when N/P is a power of 2\n"
            "  --kernels KIND        auto (fastest here), portable (plain C) or\n"
            "                        reference (textbook im2col + gemm) (auto)\n"
            "  --limit N             train on the first N images only\n"
            "  --save FILE           save the trained model\n"
            "  --json FILE           write metrics as JSON\n"
            "  --report DIR          write an HTML report with pictures\n"
            "  --checkpoint FILE     save model and training state after every epoch\n"
            "  --resume FILE         continue a run from its checkpoint (same model,\n"
            "                        optimizer settings and batch)\n"
            "  --init FILE           start from a model's architecture and weights\n"
            "                        (.nnm or .onnx) to fine-tune it\n"
            "  --sweep OPTION=V1,V2  train one run per combination of values, one after\n"
            "                        the other (repeat for a grid): model, optimizer,\n"
            "                        lr, schedule, gamma, warmup, momentum,\n"
            "                        weight-decay, batch, seed, epochs, limit, kernels;\n"
            "                        separate model specs with ';' (needs --report DIR:\n"
            "                        DIR/index.html compares the runs)\n"
            "  --save-best FILE      with --sweep: save the model of the run with the\n"
            "                        best final test accuracy\n"
            "  --no-diagnostics      no training-health statistics and warnings\n"
            "                        (loss at chance, vanishing or exploding\n"
            "                        gradients, dead relus, overfitting)\n"
            "  --quiet               only the final accuracy (warnings still show)\n"
            "  --help                this text\n",
            program, data_help, preset_list(), NN_SHARDS_DEFAULT);
}

/* ------------------------------------------------------------- options */

/* How an option's value is read. */
typedef enum {
    ARG_NONE,   /* a flag */
    ARG_TEXT,   /* a non-empty string: a path or a spec */
    ARG_INT,    /* a whole number in [min, max] */
    ARG_REAL,   /* a finite number in [min, max] */
    ARG_CHOICE  /* one of the names in choices */
} arg_kind;

/* An option's value, read as its kind says. */
typedef struct {
    const char *text;
    long whole;
    double real;
    int choice; /* index in choices */
} arg_value;

/* Which option a row of the table is. */
typedef enum {
    OPT_DATA, OPT_MODEL, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_MOMENTUM,
    OPT_WEIGHT_DECAY, OPT_NESTEROV, OPT_OPTIMIZER, OPT_SCHEDULE, OPT_GAMMA,
    OPT_WARMUP, OPT_SEED, OPT_THREADS, OPT_SHARDS, OPT_KERNELS, OPT_LIMIT, OPT_SAVE,
    OPT_JSON, OPT_REPORT, OPT_CHECKPOINT, OPT_RESUME, OPT_INIT, OPT_QUIET,
    OPT_SWEEP, OPT_SAVE_BEST, OPT_NO_DIAGNOSTICS
} option_id;

/* What else an option is: a setting a run records, one a sweep varies. */
enum { SETTING = 1, SWEPT = 2 | SETTING };

/* One option: its name and how its value is checked. */
typedef struct {
    const char *name;
    option_id id;
    arg_kind kind;
    double min, max;            /* ARG_INT, ARG_REAL */
    const char *const *choices; /* ARG_CHOICE: NULL-terminated */
    const char *what;           /* ARG_TEXT: what is expected */
    int flags;                  /* SETTING, SWEPT */
} option_def;

/* The library's optimizers by name, filled from its table by cli_parse: a
 * new optimizer needs no change here. */
static const char *optimizer_names[16];
static const char *const schedule_names[] = {"constant", "step", "exp", "cosine", NULL};
static const char *const kernel_names[] = {"auto", "portable", "reference", NULL};

/* Every option of the trainers (--help and --help-layers aside). */
static const option_def options[] = {
    {"--data", OPT_DATA, ARG_TEXT, 0, 0, NULL, "a directory", 0},
    {"--model", OPT_MODEL, ARG_TEXT, 0, 0, NULL, "a preset or a spec", SWEPT},
    {"--epochs", OPT_EPOCHS, ARG_INT, 1, 10000, NULL, NULL, SWEPT},
    {"--batch", OPT_BATCH, ARG_INT, 1, 65536, NULL, NULL, SWEPT},
    {"--lr", OPT_LR, ARG_REAL, 1e-9, 100, NULL, NULL, SWEPT},
    {"--momentum", OPT_MOMENTUM, ARG_REAL, 0, 0.9999, NULL, NULL, SWEPT},
    {"--weight-decay", OPT_WEIGHT_DECAY, ARG_REAL, 0, 1, NULL, NULL, SWEPT},
    {"--nesterov", OPT_NESTEROV, ARG_NONE, 0, 0, NULL, NULL, SETTING},
    {"--optimizer", OPT_OPTIMIZER, ARG_CHOICE, 0, 0, optimizer_names, NULL, SWEPT},
    {"--schedule", OPT_SCHEDULE, ARG_CHOICE, 0, 0, schedule_names, NULL, SWEPT},
    {"--gamma", OPT_GAMMA, ARG_REAL, 1e-6, 1, NULL, NULL, SWEPT},
    {"--warmup", OPT_WARMUP, ARG_REAL, 0, 10000, NULL, NULL, SWEPT},
    {"--seed", OPT_SEED, ARG_INT, 0, 0x7fffffffL, NULL, NULL, SWEPT},
    {"--threads", OPT_THREADS, ARG_INT, 1, CLI_MAX_THREADS, NULL, NULL, 0},
    {"--shards", OPT_SHARDS, ARG_INT, 1, NN_SHARDS_MAX, NULL, NULL, 0},
    {"--kernels", OPT_KERNELS, ARG_CHOICE, 0, 0, kernel_names, NULL, SWEPT},
    {"--limit", OPT_LIMIT, ARG_INT, 1, 0x7fffffffL, NULL, NULL, SWEPT},
    {"--save", OPT_SAVE, ARG_TEXT, 0, 0, NULL, "a file name", 0},
    {"--json", OPT_JSON, ARG_TEXT, 0, 0, NULL, "a file name", 0},
    {"--report", OPT_REPORT, ARG_TEXT, 0, 0, NULL, "a directory", 0},
    {"--checkpoint", OPT_CHECKPOINT, ARG_TEXT, 0, 0, NULL, "a file name", 0},
    {"--resume", OPT_RESUME, ARG_TEXT, 0, 0, NULL, "a checkpoint file", 0},
    {"--init", OPT_INIT, ARG_TEXT, 0, 0, NULL, "a model file (.nnm or .onnx)", 0},
    {"--quiet", OPT_QUIET, ARG_NONE, 0, 0, NULL, NULL, 0},
    {"--no-diagnostics", OPT_NO_DIAGNOSTICS, ARG_NONE, 0, 0, NULL, NULL, 0},
    {"--sweep", OPT_SWEEP, ARG_TEXT, 0, 0, NULL, "OPTION=V1,V2,...", 0},
    {"--save-best", OPT_SAVE_BEST, ARG_TEXT, 0, 0, NULL, "a file name", 0},
};
#define OPTION_COUNT (int)(sizeof options / sizeof *options)

/* Stores an option's checked value. */
static void apply(cli_options *o, option_id id, const arg_value *v)
{
    nn_train_config *t = &o->train;
    switch (id) {
    case OPT_DATA: o->data_dir = v->text; break;
    case OPT_MODEL: o->model = v->text; o->model_given = 1; break;
    case OPT_INIT: o->init_path = v->text; break;
    case OPT_SAVE: o->save_path = v->text; break;
    case OPT_JSON: o->json_path = v->text; break;
    case OPT_REPORT: o->report_dir = v->text; break;
    case OPT_CHECKPOINT: o->checkpoint_path = v->text; break;
    case OPT_RESUME: o->resume_path = v->text; break;
    case OPT_QUIET: o->quiet = 1; break;
    case OPT_NO_DIAGNOSTICS: o->no_diagnostics = 1; break;
    case OPT_SAVE_BEST: o->save_best_path = v->text; break;
    case OPT_SWEEP: break; /* add_sweep */
    case OPT_NESTEROV: t->optim.nesterov = 1; break;
    case OPT_EPOCHS: t->epochs = t->schedule.total_epochs = (int)v->whole; break;
    case OPT_BATCH: t->batch = (int)v->whole; break;
    case OPT_SEED: t->seed = (uint64_t)v->whole; o->seed_given = 1; break;
    case OPT_THREADS: o->threads = (int)v->whole; break;
    case OPT_SHARDS: o->shards = (int)v->whole; break;
    case OPT_LIMIT: o->limit = v->whole; break;
    case OPT_KERNELS: o->kernels = (nn_kernels)v->choice; break;
    case OPT_LR: t->schedule.lr = (float)v->real; o->lr_given = 1; break;
    case OPT_MOMENTUM:
        t->optim.momentum = (float)v->real;
        o->momentum_given = 1;
        break;
    case OPT_WEIGHT_DECAY:
        t->optim.weight_decay = (float)v->real;
        o->weight_decay_given = 1;
        break;
    case OPT_GAMMA: t->schedule.gamma = (float)v->real; o->gamma_given = 1; break;
    case OPT_WARMUP: t->schedule.warmup_epochs = (float)v->real; break;
    case OPT_SCHEDULE: t->schedule.kind = (nn_schedule_kind)v->choice; break;
    case OPT_OPTIMIZER:
        nn_optim_from_name(optimizer_names[v->choice], &t->optim.kind);
        break;
    }
}

/* "one of a, b or c" for a NULL-terminated list of names. */
static void describe_choices(const char *const *names, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "one of");
    for (int i = 0; names[i] && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s %s",
                                 i == 0 ? "" : names[i + 1] ? "," : " or",
                                 names[i]);
}

/* Reads text as def's value into v; 0 with why (what is wrong, and what
 * is accepted) when it is not acceptable. */
static int read_value(const option_def *def, const char *text, arg_value *v,
                      char *why, size_t why_size)
{
    char accepted[128];
    v->text = text;
    switch (def->kind) {
    case ARG_NONE:
        return 1;
    case ARG_INT:
        return cli_parse_long(text, (long)def->min, (long)def->max, &v->whole,
                              why, why_size);
    case ARG_REAL:
        return cli_parse_double(text, def->min, def->max, &v->real, why,
                                why_size);
    case ARG_CHOICE:
        for (v->choice = 0; def->choices[v->choice]; v->choice++)
            if (!strcmp(text, def->choices[v->choice]))
                return 1;
        describe_choices(def->choices, accepted, sizeof accepted);
        snprintf(why, why_size, "unknown; expected %s", accepted);
        return 0;
    case ARG_TEXT:
        if (!*text) {
            snprintf(why, why_size, "empty; expected %s", def->what);
            return 0;
        }
        if (!strncmp(text, "--", 2)) {
            snprintf(why, why_size, "an option, not a value; expected %s "
                     "(write ./%s for a file of that name)", def->what, text);
            return 0;
        }
        return 1;
    }
    return 0;
}

/* Optimizers other than SGD start from their own (PyTorch's) learning
 * rate, weight decay and momentum unless the flags set them. */
static void apply_optimizer_defaults(cli_options *o)
{
    nn_optim_settings *s = &o->train.optim;
    nn_optim_settings d = nn_optim_defaults(s->kind);
    if (s->kind == NN_OPTIM_SGD)
        return;
    if (!o->lr_given)
        o->train.schedule.lr = d.lr;
    if (!o->weight_decay_given)
        s->weight_decay = d.weight_decay;
    if (!o->momentum_given)
        s->momentum = d.momentum;
}


/* The defaults of a token's optional parts ("S 2 (K), P 0"), read from
 * the layer the library makes of its shortest form (K 3, N 8, no optional
 * part): the tool keeps no table of its own. */
static void token_defaults(const char *grammar, char *buf, size_t size)
{
    char token[64];
    size_t n = 0, used = 0;
    nn_net *probe = NULL;
    nn_layer_info info;
    buf[0] = '\0';
    for (const char *g = grammar; *g && n + 2 < sizeof token; g++) {
        if (*g == '[') { /* an optional part: left out */
            g = strchr(g, ']');
            if (!g)
                break;
            continue;
        }
        token[n++] = *g == 'K' ? '3' : *g == 'N' ? '8' : *g;
    }
    token[n] = '\0';
    if (!strchr(grammar, '[') || nn_net_create(1, 8, 8, &probe) != NN_OK ||
        nn_net_add_spec(probe, token, NULL, 0) != NN_OK ||
        nn_net_build_inference(probe, 1, 1) != NN_OK ||
        nn_net_layer_info(probe, 0, &info) != NN_OK) {
        nn_net_destroy(probe);
        return;
    }
    if (strstr(grammar, "[sS]"))
        used += (size_t)snprintf(buf + used, size - used, "S %s", info.args.stride ==
                                 info.args.kh ? "K" : info.args.stride == 1 ? "1" : "?");
    if (strstr(grammar, "[pP]") && used < size)
        used += (size_t)snprintf(buf + used, size - used, "%sP %d", used ? ", " : "",
                                 info.args.pad);
    if (strstr(grammar, "[A]") && used < size)
        used += (size_t)snprintf(buf + used, size - used, "A %g", (double)info.args.slope);
    if (strstr(grammar, "[R]") && used < size)
        used += (size_t)snprintf(buf + used, size - used, "R %g", (double)info.args.rate);
    if (strstr(grammar, "[epsE]") && used < size) {
        /* as a spec writes it: a plain decimal, "0.00001" */
        int end = snprintf(buf + used, size - used, "E %.9f", (double)info.args.eps);
        while (end > 3 && used + (size_t)end < size && buf[used + end - 1] == '0')
            buf[used + --end] = '\0';
    }
    nn_net_destroy(probe);
}

/* The layer tokens a spec may use, from the library's table of kinds: what
 * their letters mean, each token's defaults, and an example. */
static void usage_layers(FILE *f)
{
    const char *name, *grammar;
    char defaults[64];
    fprintf(f, "layer tokens of --model specs (comma-separated):\n"
               "  %-22s %-14s %s\n", "token", "layer", "defaults");
    for (int i = 0; (grammar = nn_spec_grammar(i, &name)) != NULL; i++) {
        token_defaults(grammar, defaults, sizeof defaults);
        fprintf(f, "  %-22s %-14s %s\n", grammar, name, defaults);
    }
    fprintf(f, "letters (whole numbers unless said; [..] may be left out):\n"
               "  K  kernel or window size, K x K (convKHxKWxN, or poolKHxKWsS\n"
               "     and avgpoolKHxKWsS with their stride, for a rectangle)\n"
               "  N  number of filters (conv) or of outputs (dense)\n"
               "  S  stride: the step between windows\n"
               "  P  zero padding added on every side; for pooling less than K,\n"
               "     and max pooling never picks it\n"
               "  c  ceil mode (pooling): the output size rounds up, the last\n"
               "     window may run past the input (PyTorch's ceil_mode)\n"
               "  e  average pooling leaves the padding out of the mean\n"
               "     (PyTorch's count_include_pad=False)\n"
               "  A  slope for negative inputs, a decimal in [0, 1)\n"
               "  R  share of values dropped in training, a decimal in [0, 1)\n"
               "  E  batchnorm's epsilon in sqrt(var + E), a decimal in (0, 1]\n"
               "example: --model conv3x3x16p1,bn,relu,pool2,conv3x3x32p1,relu,"
               "pool2,dropout0.3,dense10\n"
               "branches: a layer reads the previous layer's output unless its "
               "token names others:\n"
               "  relu@a        names this layer's output 'a'\n"
               "  conv1x1x8(a)  reads a's output ('input': the net's input)\n"
               "  add(a)        the previous output plus a's; add(a,b): a's "
               "plus b's\n"
               "  concat(a,b)   a's channels, then b's (same height and width)\n"
               "example, a residual block: conv3x3x16p1,bn,relu@a,conv3x3x16p1,"
               "bn,relu,conv3x3x16p1,bn,add(a),relu\n"
               "presets: %s (lenet is %s)\n",
            preset_list(), nn_spec_preset("lenet"));
}

/* Checks a --model value's syntax before any data is read (whether it
 * fits the data's shape is known only once the data is loaded); prefix
 * starts the message ("mnist_train"). */
static int spec_syntax_ok(const char *spec, const char *prefix)
{
    const char *presets[32], *near;
    int count = 0;
    nn_net *probe = NULL;
    char msg[256] = "";
    nn_status st = nn_net_create(1, 1, 1, &probe);
    if (st == NN_OK)
        st = nn_net_add_spec(probe, spec, msg, sizeof msg);
    nn_net_destroy(probe);
    if (st == NN_OK)
        return 1;
    while (count < 32 && nn_spec_preset_name(count)) {
        presets[count] = nn_spec_preset_name(count);
        count++;
    }
    if (!strchr(spec, ',') && (near = cli_nearest(spec, presets, count)))
        fprintf(stderr, "%s: --model '%s': not a preset or a layer token; did "
                "you mean %s? (presets: %s; layer tokens: --help-layers)\n",
                prefix, spec, near, preset_list());
    else
        fprintf(stderr, "%s: --model: %s%s%s%s\n", prefix,
                msg[0] ? msg : nn_status_str(st),
                strchr(spec, ',') ? "" : " (or a preset: ",
                strchr(spec, ',') ? "" : preset_list(),
                strchr(spec, ',') ? "" : ")");
    return 0;
}

/* Combinations the table cannot see; 0 after printing why, after prefix
 * ("mnist_train"). */
static int options_agree(const cli_options *o, const char *prefix)
{
    const nn_train_config *t = &o->train;
    const char *optimizer = nn_optim_name(t->optim.kind);
    const char *problem = NULL;
    char buf[160];
    if (t->schedule.warmup_epochs > (float)t->epochs) {
        snprintf(buf, sizeof buf, "--warmup %g is longer than the run "
                 "(--epochs %d)", t->schedule.warmup_epochs, t->epochs);
        problem = buf;
    } else if (t->optim.nesterov && t->optim.kind != NN_OPTIM_SGD) {
        snprintf(buf, sizeof buf, "--nesterov is for --optimizer sgd, not %s",
                 optimizer);
        problem = buf;
    } else if (t->optim.nesterov && t->optim.momentum == 0.0f)
        problem = "--nesterov needs a --momentum above 0";
    else if (o->momentum_given && (t->optim.kind == NN_OPTIM_ADAM ||
                                   t->optim.kind == NN_OPTIM_ADAMW)) {
        snprintf(buf, sizeof buf, "--momentum is for sgd and rmsprop; %s has "
                 "no momentum setting", optimizer);
        problem = buf;
    } else if (o->gamma_given && t->schedule.kind != NN_SCHEDULE_STEP &&
               t->schedule.kind != NN_SCHEDULE_EXPONENTIAL)
        problem = "--gamma is for --schedule step or exp";
    else if (nn_optim_check(&t->optim) != NN_OK)
        problem = "the optimizer settings are not valid together";
    else if (o->init_path && o->resume_path)
        problem = "--init starts a new run from a model, --resume continues one: "
                  "give one of them";
    if (problem)
        fprintf(stderr, "%s: %s\n", prefix, problem);
    return problem == NULL;
}

/* --------------------------------------------------------------- sweeps */

/* Item k of an axis's list into buf; 0 when it does not fit. */
static int axis_value(const cli_sweep_axis *a, int k, char *buf, size_t size)
{
    const char *item = a->list, *end;
    size_t n;
    for (; k > 0; k--)
        item = strchr(item, a->separator) + 1;
    end = strchr(item, a->separator);
    n = end ? (size_t)(end - item) : strlen(item);
    if (n >= size)
        return 0;
    memcpy(buf, item, n);
    buf[n] = '\0';
    return 1;
}

/* 1 when two values of def are the same setting ("0.1" and "0.10"). */
static int same_value(const option_def *def, const arg_value *a,
                      const arg_value *b)
{
    switch (def->kind) {
    case ARG_INT: return a->whole == b->whole;
    case ARG_REAL: return a->real == b->real;
    case ARG_CHOICE: return a->choice == b->choice;
    default: return !strcmp(a->text, b->text);
    }
}

/* "model, epochs, ...": the options a sweep may vary. */
static void describe_swept(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < OPTION_COUNT && used < size; i++)
        if ((options[i].flags & SWEPT) == SWEPT)
            used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                     used ? ", " : "", options[i].name + 2);
}

/* Checks value k of axis a (its text in buf) as def's flag would be
 * checked, and against the values before it; 0 after printing why. */
static int sweep_value_ok(const cli_sweep_axis *a, const option_def *def,
                          int k, const char *prefix)
{
    char value[CLI_VALUE_SIZE], other[CLI_VALUE_SIZE];
    arg_value v = {NULL, 0, 0.0, 0}, w = {NULL, 0, 0.0, 0};
    char why[256];
    if (!axis_value(a, k, value, sizeof value)) {
        fprintf(stderr, "%s: value %d is longer than %d bytes\n", prefix, k + 1,
                CLI_VALUE_SIZE - 1);
        return 0;
    }
    if (!read_value(def, value, &v, why, sizeof why)) {
        fprintf(stderr, "%s: %s '%s': %s\n", prefix, def->name, value, why);
        return 0;
    }
    if (def->id == OPT_MODEL && a->separator == ',' && !nn_spec_preset(value)) {
        fprintf(stderr, "%s: '%s' is not a preset; separate model specs with "
                "';' (--sweep 'model=lenet;conv5x5x8,relu,pool2,dense10')\n",
                prefix, value);
        return 0;
    }
    if (def->id == OPT_MODEL && !spec_syntax_ok(value, prefix))
        return 0;
    for (int j = 0; j < k; j++) {
        axis_value(a, j, other, sizeof other);
        read_value(def, other, &w, why, sizeof why);
        if (same_value(def, &v, &w)) {
            fprintf(stderr, "%s: '%s' is the same %s as '%s'\n", prefix, value,
                    def->name, other);
            return 0;
        }
    }
    return 1;
}

/* Adds --sweep text ("lr=0.01,0.1") to o; 0 after printing why. */
static int add_sweep(cli_options *o, const char *text, const char *program)
{
    const char *eq = strchr(text, '=');
    const option_def *def = NULL;
    cli_sweep_axis *a = &o->sweep[o->sweep_count];
    char prefix[CLI_VALUE_SIZE + 64], swept[256];
    snprintf(prefix, sizeof prefix, "%s: --sweep '%s'", program, text);
    describe_swept(swept, sizeof swept);
    for (int i = 0; eq && i < OPTION_COUNT; i++)
        if (!strncmp(options[i].name + 2, text, (size_t)(eq - text)) &&
            options[i].name[2 + (eq - text)] == '\0')
            def = &options[i];
    if (!eq || eq == text) {
        fprintf(stderr, "%s: expected OPTION=V1,V2,... (e.g. lr=0.01,0.1)\n", prefix);
        return 0;
    }
    if (!def || (def->flags & SWEPT) != SWEPT) {
        fprintf(stderr, "%s: %s '%.*s'; a sweep varies %s\n", prefix,
                def ? "cannot vary" : "unknown option", (int)(eq - text), text,
                swept);
        return 0;
    }
    for (int i = 0; i < o->sweep_count; i++)
        if (&options[o->sweep[i].option] == def) {
            fprintf(stderr, "%s: %s is swept twice; give its values in one "
                    "list\n", prefix, def->name + 2);
            return 0;
        }
    if (o->sweep_count == CLI_MAX_SWEEP) {
        fprintf(stderr, "%s: a sweep varies %d options at most\n", prefix,
                CLI_MAX_SWEEP);
        return 0;
    }
    a->option = (int)(def - options);
    a->list = eq + 1;
    a->separator = strchr(a->list, ';') ? ';' : ',';
    a->count = 1;
    if (!*a->list) {
        fprintf(stderr, "%s: no values; expected OPTION=V1,V2,...\n", prefix);
        return 0;
    }
    for (const char *c = a->list; *c; c++)
        a->count += *c == a->separator;
    if (a->count > CLI_MAX_RUNS) {
        fprintf(stderr, "%s: %d values; a sweep makes %d runs at most\n",
                prefix, a->count, CLI_MAX_RUNS);
        return 0;
    }
    for (int k = 0; k < a->count; k++)
        if (!sweep_value_ok(a, def, k, prefix))
            return 0;
    o->sweep_count++;
    return 1;
}

/* A value as a directory name's part: itself when short and made of
 * letters, digits and ._+-; else its first characters (others as '_')
 * and a hash of the whole value. */
static void safe_value(const char *value, char *out, size_t size)
{
    enum { KEEP = 40, PREFIX = 24 };
    uint32_t hash = 2166136261u; /* FNV-1a */
    size_t n = strlen(value), i;
    int safe = n <= KEEP;
    for (i = 0; i < n; i++) {
        hash = (hash ^ (unsigned char)value[i]) * 16777619u;
        safe = safe && (isalnum((unsigned char)value[i]) ||
                        strchr("._+-", value[i]));
    }
    if (safe) {
        snprintf(out, size, "%s", value);
        return;
    }
    for (i = 0; i < n && i < PREFIX && i + 1 < size; i++)
        out[i] = isalnum((unsigned char)value[i]) || strchr(".+-", value[i])
               ? value[i] : '_';
    snprintf(out + i, size - i, "~%08x", (unsigned)hash);
}

void cli_sweep_options(const cli_options *base, long run, cli_options *out,
                       char *name, size_t name_size)
{
    char value[CLI_VALUE_SIZE], part[64], why[256];
    enum { NAME_MAX_USED = 200 }; /* file systems allow 255 bytes */
    int index[CLI_MAX_SWEEP];
    size_t used = 0;
    long run_number = run;
    *out = *base;
    out->sweep_count = 0;
    out->sweep_runs = 1;
    for (int a = base->sweep_count - 1; a >= 0; a--) { /* the last fastest */
        index[a] = (int)(run % base->sweep[a].count);
        run /= base->sweep[a].count;
    }
    name[0] = '\0';
    for (int a = 0; a < base->sweep_count; a++) {
        const option_def *def = &options[base->sweep[a].option];
        arg_value v = {NULL, 0, 0.0, 0};
        axis_value(&base->sweep[a], index[a], value, sizeof value);
        if (def->id == OPT_MODEL) {
            memcpy(out->model_text, value, sizeof value);
            read_value(def, out->model_text, &v, why, sizeof why);
        } else {
            read_value(def, value, &v, why, sizeof why); /* checked by add_sweep */
        }
        apply(out, def->id, &v);
        safe_value(value, part, sizeof part);
        if (used < name_size)
            used += (size_t)snprintf(name + used, name_size - used, "%s%s=%s",
                                     a ? "," : "", def->name + 2, part);
    }
    if (used > NAME_MAX_USED) { /* too long for a directory name */
        safe_value(name, part, sizeof part);
        snprintf(name, name_size, "run%ld%s", run_number + 1, strchr(part, '~'));
    }
    apply_optimizer_defaults(out);
}

const char *cli_sweep_option_name(const cli_options *o, int axis)
{
    return options[o->sweep[axis].option].name + 2;
}

/* A setting's value as text: buf, or the option's own text. */
static const char *setting_text(const cli_options *o, option_id id, char *buf,
                                size_t size)
{
    const nn_train_config *t = &o->train;
    switch (id) {
    case OPT_MODEL: return o->model;
    case OPT_OPTIMIZER: return optimizer_names[t->optim.kind];
    case OPT_SCHEDULE: return schedule_names[t->schedule.kind];
    case OPT_KERNELS: return kernel_names[o->kernels];
    case OPT_NESTEROV: return t->optim.nesterov ? "yes" : "no";
    case OPT_EPOCHS: snprintf(buf, size, "%d", t->epochs); break;
    case OPT_BATCH: snprintf(buf, size, "%d", t->batch); break;
    case OPT_LR: snprintf(buf, size, "%g", t->schedule.lr); break;
    case OPT_MOMENTUM: snprintf(buf, size, "%g", t->optim.momentum); break;
    case OPT_WEIGHT_DECAY: snprintf(buf, size, "%g", t->optim.weight_decay); break;
    case OPT_GAMMA: snprintf(buf, size, "%g", t->schedule.gamma); break;
    case OPT_WARMUP: snprintf(buf, size, "%g", t->schedule.warmup_epochs); break;
    case OPT_SEED: snprintf(buf, size, "%llu", (unsigned long long)t->seed); break;
    case OPT_LIMIT:
        if (!o->limit)
            return "all";
        snprintf(buf, size, "%ld", o->limit);
        break;
    default: snprintf(buf, size, "?"); break;
    }
    return buf;
}

/* The option called by id (every id has one). */
static const char *option_name(option_id id)
{
    for (int i = 0; i < OPTION_COUNT; i++)
        if (options[i].id == id)
            return options[i].name;
    return "?";
}

int cli_same_schedule(const cli_options *o, const nn_schedule *then,
                      char *msg, size_t msg_size)
{
    static const option_id kept[] = {OPT_LR, OPT_SCHEDULE, OPT_GAMMA,
                                     OPT_WARMUP, OPT_EPOCHS};
    cli_options was_run = *o;
    was_run.train.schedule = *then;
    was_run.train.epochs = then->total_epochs;
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        char was_buf[64], now_buf[64];
        const char *name = option_name(kept[i]);
        const char *was = setting_text(&was_run, kept[i], was_buf,
                                       sizeof was_buf);
        const char *now = setting_text(o, kept[i], now_buf, sizeof now_buf);
        if (!strcmp(was, now) || (kept[i] == OPT_EPOCHS &&
                                  o->train.schedule.kind != NN_SCHEDULE_COSINE))
            continue;
        snprintf(msg, msg_size, "%s: the checkpoint's run was trained with %s "
                 "%s, this command asks for %s %s (a resumed run keeps its "
                 "optimizer and schedule settings%s)", o->resume_path, name,
                 was, name, now, kept[i] == OPT_EPOCHS
                 ? "; the cosine schedule's length is --epochs" : "");
        return 0;
    }
    return 1;
}

void cli_describe_settings(const cli_options *o, cli_settings_text *out)
{
    report_settings *s = &out->settings;
    s->count = 0;
    for (int i = 0; i < OPTION_COUNT && s->count < REPORT_MAX_SETTINGS; i++)
        if (options[i].flags & SETTING) {
            s->key[s->count] = options[i].name + 2;
            s->value[s->count] = setting_text(o, options[i].id, out->text[s->count],
                                              sizeof out->text[s->count]);
            s->count++;
        }
}

/* What a sweep cannot go with, and every run of it as a command line of
 * its own (given: the options on the command line); 0 after printing
 * why. */
static int sweep_ok(cli_options *o, const int *given, const char *program)
{
    static const struct {
        option_id id;
        const char *flag;
    } single[] = {{OPT_SAVE, "--save"}, {OPT_JSON, "--json"},
                  {OPT_CHECKPOINT, "--checkpoint"}, {OPT_RESUME, "--resume"}};
    char prefix[CLI_VALUE_SIZE + 64], name[CLI_VALUE_SIZE];
    cli_options *run;
    int ok = 1;
    if (!o->sweep_count) {
        if (o->save_best_path)
            fprintf(stderr, "%s: --save-best is for --sweep (a single run saves "
                    "its model with --save)\n", program);
        return !o->save_best_path;
    }
    if (!o->report_dir) {
        fprintf(stderr, "%s: --sweep needs --report DIR: each run writes its "
                "report, metrics.json and checkpoint in a directory of DIR, and "
                "DIR/index.html compares them\n", program);
        return 0;
    }
    for (size_t i = 0; i < sizeof single / sizeof *single; i++)
        for (int r = 0; r < OPTION_COUNT; r++)
            if (options[r].id == single[i].id && given[r]) {
                fprintf(stderr, "%s: %s is for a single run: a sweep keeps each "
                        "run's model, metrics and checkpoint in its directory "
                        "under --report (--save-best FILE saves the best model)\n",
                        program, single[i].flag);
                return 0;
            }
    o->sweep_runs = 1;
    for (int a = 0; a < o->sweep_count; a++) {
        if (given[o->sweep[a].option]) {
            fprintf(stderr, "%s: %s and --sweep %s: give one of them\n", program,
                    options[o->sweep[a].option].name,
                    options[o->sweep[a].option].name + 2);
            return 0;
        }
        o->sweep_runs *= o->sweep[a].count; /* each count <= CLI_MAX_RUNS */
        if (o->sweep_runs > CLI_MAX_RUNS) {
            fprintf(stderr, "%s: --sweep: more than %d runs (the product of the "
                    "lists' lengths); sweep fewer values\n", program, CLI_MAX_RUNS);
            return 0;
        }
    }
    run = malloc(sizeof *run);
    if (!run) {
        fprintf(stderr, "%s: out of memory\n", program);
        return 0;
    }
    for (long r = 0; ok && r < o->sweep_runs; r++) {
        cli_sweep_options(o, r, run, name, sizeof name);
        snprintf(prefix, sizeof prefix, "%s: --sweep run %s", program, name);
        ok = options_agree(run, prefix);
    }
    free(run);
    return ok;
}

/* Whether path can be written as an output (a directory with dir = 1):
 * when it exists it is of that kind, else its directory exists. Checked
 * before any work so that a long run does not end in a lost result; the
 * writes report what can only go wrong then (a full disk). */
static int output_ok(const char *program, const char *flag, const char *path,
                     int dir)
{
    struct stat st;
    char copy[4096];
    const char *parent;
    if (stat(path, &st) == 0) {
        if (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode))
            return 1;
        fprintf(stderr, "%s: %s %s: is %s, not %s\n", program, flag, path,
                cli_file_kind(st.st_mode), dir ? "a directory" : "a regular file");
        return 0;
    }
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy) {
        fprintf(stderr, "%s: %s: the path is too long\n", program, flag);
        return 0;
    }
    parent = dirname(copy);
    if (stat(parent, &st) != 0) {
        fprintf(stderr, "%s: %s %s: the directory %s does not exist\n",
                program, flag, path, parent);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: %s %s: %s is %s, not a directory\n", program,
                flag, path, parent, cli_file_kind(st.st_mode));
        return 0;
    }
    return 1;
}

/* The outputs can be written, and no two of them are the same file (the
 * last writer would win: a model file over the checkpoint, say). */
static int outputs_ok(const cli_options *o, const char *program)
{
    enum { SAVE, JSON, CHECKPOINT, SAVE_BEST, RESUME, FILES };
    const struct {
        const char *flag, *path;
    } files[FILES] = {[SAVE] = {"--save", o->save_path},
                      [JSON] = {"--json", o->json_path},
                      [CHECKPOINT] = {"--checkpoint", o->checkpoint_path},
                      [SAVE_BEST] = {"--save-best", o->save_best_path},
                      [RESUME] = {"--resume", o->resume_path}};
    char path[4096];
    struct stat st;
    for (int i = 0; i < FILES; i++)
        for (int j = i + 1; j < FILES; j++)
            if (files[i].path && files[j].path &&
                !strcmp(files[i].path, files[j].path) &&
                !(i == CHECKPOINT && j == RESUME)) { /* a run goes on in it */
                fprintf(stderr, "%s: %s and %s name the same file %s\n",
                        program, files[i].flag, files[j].flag, files[i].path);
                return 0;
            }
    for (int i = 0; i < RESUME; i++) /* outputs; --resume is read */
        if (files[i].path && !output_ok(program, files[i].flag, files[i].path, 0))
            return 0;
    if (o->report_dir && !output_ok(program, "--report", o->report_dir, 1))
        return 0;
    if (o->sweep_count &&
        snprintf(path, sizeof path, "%s/metrics.json", o->report_dir) < (int)sizeof path &&
        stat(path, &st) == 0) {
        fprintf(stderr, "%s: --report %s: holds the report of a single run "
                "(metrics.json); give a sweep a directory of its own\n", program,
                o->report_dir);
        return 0;
    }
    return 1;
}

/* An argument that is no option: the nearest option when one is close
 * ("--epoch": --epochs), the value of "--lr=0.1" as the next argument;
 * one line and a pointer to --help, not the whole usage. */
static void unknown_option(const char *arg, const char *program)
{
    const char *names[OPTION_COUNT + 4];
    const char *eq = strchr(arg, '='), *near;
    char name[64];
    int count = 0;
    for (int k = 0; k < OPTION_COUNT; k++)
        names[count++] = options[k].name;
    names[count++] = "--help";
    names[count++] = "--help-layers";
    names[count++] = "--version";
    if (eq && !strncmp(arg, "--", 2) && (size_t)(eq - arg) < sizeof name) {
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = '\0';
        for (int k = 0; k < OPTION_COUNT; k++)
            if (!strcmp(name, options[k].name)) {
                fprintf(stderr, "%s: '%s': options take their value as the "
                        "next argument: %s %s\n", program, arg, name, eq + 1);
                return;
            }
    }
    near = cli_nearest(arg, names, count);
    if (near)
        fprintf(stderr, "%s: unknown option '%s'; did you mean %s?\n", program,
                arg, near);
    else
        fprintf(stderr, "%s: unknown option '%s'\n", program, arg);
    fprintf(stderr, "see %s --help\n", program);
}

int cli_parse(int argc, char **argv, cli_options *o, const char *program,
              const char *data_help)
{
    int given[OPTION_COUNT] = {0};
    struct stat st;
    for (int k = 0; k < 15; k++)
        optimizer_names[k] = nn_optim_name((nn_optim_kind)k);
    for (int i = 1; i < argc; i++) {
        const option_def *def = NULL;
        arg_value value = {NULL, 0, 0.0, 0};
        char why[256];
        if (!strcmp(argv[i], "--help")) {
            usage(stdout, program, data_help);
            return -1;
        }
        if (!strcmp(argv[i], "--help-layers")) {
            usage_layers(stdout);
            return -1;
        }
        if (!strcmp(argv[i], "--version")) {
            cli_print_version(program);
            return -1;
        }
        for (size_t k = 0; k < sizeof options / sizeof *options; k++)
            if (!strcmp(argv[i], options[k].name))
                def = &options[k];
        if (!def) {
            unknown_option(argv[i], program);
            return CLI_USAGE;
        }
        if ((def->id == OPT_REPORT || def->id == OPT_DATA) && i + 1 < argc)
            cli_trim_slashes(argv[i + 1]); /* "out/" + "/index.html" */
        if (def->kind != ARG_NONE && i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value (see --help)\n", program,
                    def->name);
            return CLI_USAGE;
        }
        if (def->kind != ARG_NONE) {
            if (!read_value(def, argv[i + 1], &value, why, sizeof why)) {
                fprintf(stderr, "%s: %s '%s': %s\n", program, def->name,
                        argv[i + 1], why);
                return CLI_USAGE;
            }
            i++;
        }
        if (def->id == OPT_SWEEP && !add_sweep(o, value.text, program))
            return CLI_USAGE;
        given[def - options] = 1;
        apply(o, def->id, &value);
    }
    if (!spec_syntax_ok(o->model, program) || !sweep_ok(o, given, program))
        return CLI_USAGE;
    if (!o->sweep_count) { /* a sweep's runs get their defaults each */
        apply_optimizer_defaults(o);
        if (!options_agree(o, program))
            return CLI_USAGE;
    }
    if (!o->outputs_elsewhere && !outputs_ok(o, program))
        return CLI_FAIL;
    /* Interrupted? The same command: an existing --checkpoint continues. */
    if (!o->sweep_count && o->checkpoint_path && !o->resume_path &&
        stat(o->checkpoint_path, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > 0) {
        o->resume_path = o->checkpoint_path;
        o->resume_auto = 1;
    }
    return CLI_OK;
}
