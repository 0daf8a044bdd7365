/* Protocol Buffers wire format: see protobuf.h. A nested message is
 * written in place after a 5-byte gap for its length (the most a 32-bit
 * length takes as a varint); nn_pb_end writes the length and moves the
 * message back over the unused part of the gap. */
#include "io/protobuf.h"

#include <stdlib.h>
#include <string.h>

#define LENGTH_GAP 5

void nn_pb_init(nn_pb_writer *w, size_t limit)
{
    memset(w, 0, sizeof *w);
    w->limit = limit;
}

void nn_pb_free(nn_pb_writer *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

/* Room for n more bytes: a pointer to them, or NULL (and failed set). */
static unsigned char *grow(nn_pb_writer *w, size_t n)
{
    unsigned char *p;
    if (w->failed || n > w->limit - w->size) {
        w->failed = 1;
        return NULL;
    }
    if (w->size + n > w->capacity) {
        size_t capacity = w->capacity ? w->capacity : 4096;
        while (capacity < w->size + n)
            capacity = capacity > w->limit / 2 ? w->limit : 2 * capacity;
        p = realloc(w->data, capacity);
        if (!p) {
            w->failed = 1;
            return NULL;
        }
        w->data = p;
        w->capacity = capacity;
    }
    p = w->data + w->size;
    w->size += n;
    return p;
}

/* v as a varint at p (at most 10 bytes); returns the bytes used. */
static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static void raw_varint(nn_pb_writer *w, uint64_t v)
{
    unsigned char buf[10];
    size_t n = put_varint(buf, v);
    unsigned char *p = grow(w, n);
    if (p)
        memcpy(p, buf, n);
}

static void tag(nn_pb_writer *w, int field, int wire)
{
    raw_varint(w, (uint64_t)field << 3 | (uint64_t)wire);
}

void nn_pb_varint(nn_pb_writer *w, int field, uint64_t value)
{
    tag(w, field, NN_PB_VARINT);
    raw_varint(w, value);
}

/* n floats as little-endian IEEE-754 bit patterns at p. */
static void put_floats(unsigned char *p, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        for (int b = 0; b < 4; b++)
            p[4 * i + (size_t)b] = (unsigned char)(bits >> (8 * b));
    }
}

void nn_pb_float(nn_pb_writer *w, int field, float value)
{
    unsigned char *p;
    tag(w, field, NN_PB_FIXED32);
    if ((p = grow(w, 4)))
        put_floats(p, &value, 1);
}

void nn_pb_bytes(nn_pb_writer *w, int field, const void *data, size_t size)
{
    unsigned char *p;
    tag(w, field, NN_PB_BYTES);
    raw_varint(w, size);
    if ((p = grow(w, size)) && size)
        memcpy(p, data, size);
}

void nn_pb_string(nn_pb_writer *w, int field, const char *text)
{
    nn_pb_bytes(w, field, text, strlen(text));
}

void nn_pb_floats(nn_pb_writer *w, int field, const float *x, size_t n)
{
    unsigned char *p;
    tag(w, field, NN_PB_BYTES);
    raw_varint(w, 4 * (uint64_t)n);
    if ((p = grow(w, 4 * n)))
        put_floats(p, x, n);
}

size_t nn_pb_begin(nn_pb_writer *w, int field)
{
    tag(w, field, NN_PB_BYTES);
    grow(w, LENGTH_GAP);
    return w->size;
}

void nn_pb_end(nn_pb_writer *w, size_t mark)
{
    unsigned char length[10];
    size_t body, n;
    if (w->failed)
        return;
    body = w->size - mark;
    if (body > 0xffffffffu) {
        w->failed = 1;
        return;
    }
    n = put_varint(length, body);
    memcpy(w->data + mark - LENGTH_GAP, length, n);
    memmove(w->data + mark - LENGTH_GAP + n, w->data + mark, body);
    w->size -= LENGTH_GAP - n;
}

int nn_pb_read_varint(nn_pb_reader *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end)
            return 0;
        *v |= (uint64_t)(*r->p & 0x7f) << shift;
        if (!(*r->p++ & 0x80))
            return 1;
    }
    return 0;
}

int nn_pb_next(nn_pb_reader *r, nn_pb_field *f)
{
    uint64_t key, length;
    if (r->p >= r->end)
        return 0;
    if (!nn_pb_read_varint(r, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    f->field = (int)(key >> 3);
    f->wire = (int)(key & 7);
    f->data = NULL;
    f->size = 0;
    f->value = 0;
    switch (f->wire) {
    case NN_PB_VARINT:
        return nn_pb_read_varint(r, &f->value) ? 1 : -1;
    case NN_PB_FIXED64:
    case NN_PB_FIXED32: {
        size_t n = f->wire == NN_PB_FIXED64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return -1;
        for (size_t i = 0; i < n; i++)
            f->value |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return 1;
    }
    case NN_PB_BYTES:
        if (!nn_pb_read_varint(r, &length) || length > (uint64_t)(r->end - r->p))
            return -1;
        f->data = r->p;
        f->size = (size_t)length;
        r->p += length;
        return 1;
    }
    return -1; /* groups (3, 4) and unknown wire types */
}

nn_pb_reader nn_pb_sub(const nn_pb_field *f)
{
    /* a field that is not bytes reads as an empty message */
    nn_pb_reader r = {f->data, f->data ? f->data + f->size : NULL};
    return r;
}

float nn_pb_to_float(const nn_pb_field *f)
{
    uint32_t bits = (uint32_t)f->value;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}
