/* Checkpoints: a whole model file plus what resuming needs to continue bit
 * for bit (the trainer's epoch and generator, the net's noise counter, and
 * the optimizer: kind, settings, step count and state buffers).
 *
 * Version 3: magic "NNCKPT\0\0", u32 version, u32 epochs done, u32 batch
 * size the run trains with (0: not recorded), u64 rng state x4, u64 noise
 * seed, u64 noise pass, u32 optimizer kind, f32 lr, momentum, beta1,
 * beta2, alpha, eps, weight decay, u32 momentum kind, nesterov, decay_all,
 * then the schedule: u32 kind, f32 lr, gamma, min lr, warm-up epochs, u32
 * step epochs, total epochs; u64 optimizer steps, u64 model bytes + a whole model file, u32 buffer
 * count, then per buffer u64 count + f32 values, and a u32 CRC-32 of
 * everything before it.
 * Version 2 (read): the same without the schedule.
 * Version 1 (read only): magic, version, epochs, rng x4, u64 steps, u64
 * model bytes + model, u64 count + f32 first moment (SGD velocity or Adam's
 * m), u64 count + f32 second moment, CRC-32; it did not record which
 * optimizer made it, so the one asked for is assumed, nor the batch size
 * (read as 0). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "io/io.h"
#include "io/model_file.h"
#include "optim/optim.h"

#define CKPT_MAGIC "NNCKPT\0"
#define CKPT_VERSION 3u
#define CKPT_SCHEDULE_BYTES 28 /* u32, f32 x 4, u32 x 2 */

/* The optimizer's kind and settings, in file order. */
static void put_settings(nn_le_buffer *b, const nn_optim_settings *s)
{
    const float f[7] = {s->lr, s->momentum, s->beta1, s->beta2, s->alpha,
                        s->eps, s->weight_decay};
    nn_le_put(b, (uint32_t)s->kind, 4);
    nn_le_put_floats(b, f, 7);
    nn_le_put(b, (uint32_t)s->momentum_kind, 4);
    nn_le_put(b, (uint32_t)s->nesterov, 4);
    nn_le_put(b, (uint32_t)s->decay_all, 4);
}

/* The learning-rate schedule, in file order. */
static void put_schedule(nn_le_buffer *b, const nn_schedule *s)
{
    const float f[4] = {s->lr, s->gamma, s->min_lr, s->warmup_epochs};
    nn_le_put(b, (uint32_t)s->kind, 4);
    nn_le_put_floats(b, f, 4);
    nn_le_put(b, (uint32_t)s->step_epochs, 4);
    nn_le_put(b, (uint32_t)s->total_epochs, 4);
}

static void get_schedule(nn_le_buffer *b, nn_schedule *s)
{
    float f[4];
    s->kind = (nn_schedule_kind)nn_le_get(b, 4);
    nn_le_get_floats(b, f, 4);
    s->lr = f[0];
    s->gamma = f[1];
    s->min_lr = f[2];
    s->warmup_epochs = f[3];
    s->step_epochs = (int)(nn_le_get(b, 4) & 0x7fffffff);
    s->total_epochs = (int)(nn_le_get(b, 4) & 0x7fffffff);
}

/* A schedule read from a file: a known kind and finite numbers. */
static int schedule_valid(const nn_schedule *s)
{
    return s->kind >= NN_SCHEDULE_CONSTANT && s->kind <= NN_SCHEDULE_COSINE &&
           isfinite(s->lr) && isfinite(s->gamma) && isfinite(s->min_lr) &&
           isfinite(s->warmup_epochs);
}

static void get_settings(nn_le_buffer *b, nn_optim_settings *s)
{
    float f[7];
    s->kind = (nn_optim_kind)nn_le_get(b, 4);
    nn_le_get_floats(b, f, 7);
    s->lr = f[0];
    s->momentum = f[1];
    s->beta1 = f[2];
    s->beta2 = f[3];
    s->alpha = f[4];
    s->eps = f[5];
    s->weight_decay = f[6];
    s->momentum_kind = (nn_momentum_kind)nn_le_get(b, 4);
    s->nesterov = (int)nn_le_get(b, 4);
    s->decay_all = (int)nn_le_get(b, 4);
}

nn_status nn_checkpoint_save(nn_net *net, const nn_optim *opt,
                             const nn_train_state *ts, const char *path,
                             char *msg, size_t msg_size)
{
    nn_le_buffer model = {NULL, 0, 0, 0}, b = {NULL, 0, 0, 0};
    nn_optim *o = (nn_optim *)opt; /* only read */
    size_t n = nn_net_param_count(net), count;
    uint64_t seed, pass;
    int buffers = 0;
    char why[256];
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!net || !opt || !ts || !path || ts->epoch < 0 || ts->batch < 0) {
        nn_format_msg(msg, msg_size, "invalid argument");
        return NN_EINVAL;
    }
    while (nn_optim_state(o, buffers, &count))
        buffers++;
    st = nn_model_encode(net, &model, why, sizeof why);
    if (st == NN_OK) {
        /* fixed fields, model, buffers, CRC; model is under 2 GiB */
        b.size = 8 + 4 + 4 + 4 + 32 + 16 + 4 + 28 + 12 + CKPT_SCHEDULE_BYTES +
                 8 + 8 + model.size + 4 +
                 (size_t)buffers * (8 + 4 * n) + 4;
        if (!(b.data = malloc(b.size))) {
            nn_format_msg(why, sizeof why, "out of memory for %zu bytes", b.size);
            st = NN_ENOMEM;
        }
    }
    if (st != NN_OK) {
        nn_format_msg(msg, msg_size, "%s: %s", path, why);
        free(model.data);
        return st;
    }
    nn_net_noise(net, &seed, &pass);
    nn_le_put_bytes(&b, CKPT_MAGIC, 8);
    nn_le_put(&b, CKPT_VERSION, 4);
    nn_le_put(&b, (uint32_t)ts->epoch, 4);
    nn_le_put(&b, (uint32_t)ts->batch, 4);
    for (int i = 0; i < 4; i++)
        nn_le_put(&b, ts->rng.s[i], 8);
    nn_le_put(&b, seed, 8);
    nn_le_put(&b, pass, 8);
    put_settings(&b, nn_optim_get_settings(opt));
    put_schedule(&b, &ts->schedule);
    nn_le_put(&b, (uint64_t)nn_optim_steps(opt), 8);
    nn_le_put(&b, model.size, 8);
    nn_le_put_bytes(&b, model.data, model.size);
    nn_le_put(&b, (uint32_t)buffers, 4);
    for (int i = 0; i < buffers; i++) {
        nn_le_put(&b, n, 8);
        nn_le_put_floats(&b, nn_optim_state(o, i, &count), n);
    }
    nn_le_put(&b, nn_crc32(0, b.data, b.pos), 4);
    st = nn_write_file_atomic(path, b.data, b.size, msg, msg_size);
    free(model.data);
    free(b.data);
    return st;
}

/* What a checkpoint holds besides the model file. */
typedef struct {
    uint32_t version;
    uint64_t seed, pass, steps;
    int has_noise;            /* version 2 recorded the noise counter */
    int has_settings;         /* version 2 recorded the optimizer */
    nn_optim_settings settings;
    uint32_t buffers;
    uint64_t counts[NN_OPTIM_MAX_BUFFERS];
    nn_le_buffer model, state[NN_OPTIM_MAX_BUFFERS];
} ckpt_fields;

/* The fixed fields and the blocks of a checkpoint, CRC checked. */
static nn_status parse_checkpoint(nn_le_buffer *b, nn_train_state *ts,
                                  ckpt_fields *f, char *why, size_t why_size)
{
    const unsigned char *magic = nn_le_take(b, 8);
    uint64_t model_size;
    size_t body;
    if (!magic || memcmp(magic, CKPT_MAGIC, 8)) {
        nn_format_msg(why, why_size, "bad magic: not a libnn checkpoint");
        return NN_EFORMAT;
    }
    f->version = (uint32_t)nn_le_get(b, 4);
    if (f->version < 1 || f->version > CKPT_VERSION) {
        nn_format_msg(why, why_size, "unsupported checkpoint version %u "
                      "(this library reads 1 to %u)", f->version, CKPT_VERSION);
        return NN_EFORMAT;
    }
    ts->epoch = (int)(nn_le_get(b, 4) & 0x7fffffff);
    ts->batch = f->version >= 2 ? (int)(nn_le_get(b, 4) & 0x7fffffff) : 0;
    for (int i = 0; i < 4; i++)
        ts->rng.s[i] = nn_le_get(b, 8);
    f->has_noise = f->has_settings = f->version >= 2;
    f->buffers = 2;
    if (f->version >= 2) {
        f->seed = nn_le_get(b, 8);
        f->pass = nn_le_get(b, 8);
        get_settings(b, &f->settings);
    }
    memset(&ts->schedule, 0, sizeof ts->schedule);
    ts->has_schedule = f->version >= 3;
    if (ts->has_schedule) {
        get_schedule(b, &ts->schedule);
        if (!b->overrun && !schedule_valid(&ts->schedule)) {
            nn_format_msg(why, why_size, "the learning-rate schedule is not "
                          "valid (kind %d, or a number not finite)",
                          (int)ts->schedule.kind);
            return NN_EFORMAT;
        }
    }
    f->steps = nn_le_get(b, 8);
    model_size = nn_le_get(b, 8);
    if (b->overrun || model_size > nn_le_left(b)) {
        nn_format_msg(why, why_size, "truncated: the model does not fit in "
                      "the %zu-byte file", b->size);
        return NN_EFORMAT;
    }
    f->model.data = nn_le_take(b, (size_t)model_size);
    f->model.size = (size_t)model_size;
    if (f->version >= 2)
        f->buffers = (uint32_t)nn_le_get(b, 4);
    if (f->buffers > NN_OPTIM_MAX_BUFFERS) {
        nn_format_msg(why, why_size, "%u optimizer buffers (at most %d)",
                      f->buffers, NN_OPTIM_MAX_BUFFERS);
        return NN_EFORMAT;
    }
    for (uint32_t i = 0; i < f->buffers; i++)
        if (!nn_le_get_block(b, &f->counts[i], &f->state[i])) {
            nn_format_msg(why, why_size, "truncated or corrupt optimizer state");
            return NN_EFORMAT;
        }
    body = b->pos;
    if (nn_le_get(b, 4) != nn_crc32(0, b->data, body) || b->overrun) {
        nn_format_msg(why, why_size, b->overrun ? "truncated: the checksum is missing"
                                                : "checksum mismatch: the file is corrupt");
        return NN_EFORMAT;
    }
    if (nn_le_left(b) != 0) {
        nn_format_msg(why, why_size, "%zu trailing bytes after the checksum",
                      nn_le_left(b));
        return NN_EFORMAT;
    }
    return NN_OK;
}

/* 1 when every one of x[0..n) is finite. */
static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* The optimizer the checkpoint describes, for net, with its state; a
 * conflict with want is NN_ESTATE. */
static nn_status restore_optim(ckpt_fields *f, const nn_optim_settings *want,
                               nn_net *net, nn_optim **out, char *why,
                               size_t why_size)
{
    nn_optim_settings s;
    size_t n = nn_net_param_count(net), count;
    char diff[128];
    nn_status st;
    if (!f->has_settings && !want) {
        nn_format_msg(why, why_size, "a version 1 checkpoint does not say "
                      "which optimizer made it: name one to resume");
        return NN_EINVAL;
    }
    s = f->has_settings ? f->settings : *want;
    if (!nn_optim_name(s.kind)) {
        nn_format_msg(why, why_size, "unknown optimizer kind %d", (int)s.kind);
        return NN_EFORMAT;
    }
    if (want && nn_optim_differs(&s, want, diff, sizeof diff)) {
        nn_format_msg(why, why_size, "the checkpoint was made with %s", diff);
        return NN_ESTATE;
    }
    if (want)
        s.lr = want->lr;
    if (f->steps > (uint64_t)LONG_MAX ||
        (st = nn_optim_create(net, &s, out)) != NN_OK) {
        nn_format_msg(why, why_size, "optimizer settings are not valid");
        return NN_EFORMAT;
    }
    for (uint32_t i = 0; i < f->buffers; i++) {
        float *buffer = nn_optim_state(*out, (int)i, &count);
        if (f->counts[i] != n || (!buffer && f->has_settings)) {
            nn_format_msg(why, why_size, "optimizer state does not match the model");
            nn_optim_destroy(*out);
            *out = NULL;
            return NN_EFORMAT;
        }
        if (buffer)
            nn_le_get_floats(&f->state[i], buffer, n);
        if (buffer && !all_finite(buffer, n)) {
            nn_format_msg(why, why_size, "optimizer state %u holds NaN or "
                          "infinity", i);
            nn_optim_destroy(*out);
            *out = NULL;
            return NN_EFORMAT;
        }
    }
    nn_optim_set_steps(*out, (long)f->steps);
    return NN_OK;
}

nn_status nn_checkpoint_load(const char *path, int max_batch,
                             const nn_optim_settings *want, nn_net **net,
                             nn_optim **opt, nn_train_state *ts, char *msg,
                             size_t msg_size)
{
    nn_le_buffer b = {NULL, 0, 0, 0};
    ckpt_fields f;
    char why[256];
    nn_status st = ts && opt ? nn_model_read_whole(path, max_batch, net, &b,
                                                   msg, msg_size)
                             : NN_EINVAL;
    if (st != NN_OK)
        return st;
    *opt = NULL;
    memset(&f, 0, sizeof f);
    st = parse_checkpoint(&b, ts, &f, why, sizeof why);
    if (st == NN_OK)
        st = nn_model_decode(&f.model, max_batch, 0, net, why, sizeof why);
    if (st == NN_OK) {
        st = restore_optim(&f, want, *net, opt, why, sizeof why);
        if (st != NN_OK) {
            nn_net_destroy(*net);
            *net = NULL;
        } else if (f.has_noise)
            nn_net_set_noise(*net, f.seed, f.pass);
    }
    if (st != NN_OK)
        nn_format_msg(msg, msg_size, "%s: %s", path, why);
    free(b.data);
    return st;
}
