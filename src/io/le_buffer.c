/* Little-endian byte buffers: see le_buffer.h. */
#include "io/le_buffer.h"

#include <string.h>

/* Room for n more bytes at the cursor: a pointer to them, or NULL. */
unsigned char *nn_le_take(nn_le_buffer *b, size_t n)
{
    unsigned char *p;
    if (b->overrun || n > b->size - b->pos) {
        b->overrun = 1;
        return NULL;
    }
    p = b->data + b->pos;
    b->pos += n;
    return p;
}

/* Bytes left after the cursor. */
size_t nn_le_left(const nn_le_buffer *b)
{
    return b->size - b->pos;
}

/* Copies n bytes in at the cursor. */
void nn_le_put_bytes(nn_le_buffer *b, const void *src, size_t n)
{
    unsigned char *p = nn_le_take(b, n);
    if (p)
        memcpy(p, src, n);
}

/* The one little-endian writer: the low `bytes` bytes of v, lowest first. */
void nn_le_put(nn_le_buffer *b, uint64_t v, int bytes)
{
    unsigned char *p = nn_le_take(b, (size_t)bytes);
    for (int i = 0; p && i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The one little-endian reader: `bytes` bytes, lowest first (0 when the
 * buffer is short). */
uint64_t nn_le_get(nn_le_buffer *b, int bytes)
{
    const unsigned char *p = nn_le_take(b, (size_t)bytes);
    uint64_t v = 0;
    for (int i = bytes - 1; p && i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int host_is_little_endian(void)
{
    const uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* n floats as IEEE-754 binary32 bit patterns, whatever the host's order
 * (a plain copy where the host is little-endian already). */
void nn_le_put_floats(nn_le_buffer *b, const float *x, size_t n)
{
    if (host_is_little_endian()) {
        nn_le_put_bytes(b, x, 4 * n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        nn_le_put(b, bits, 4);
    }
}

void nn_le_get_floats(nn_le_buffer *b, float *x, size_t n)
{
    const unsigned char *p;
    if (host_is_little_endian()) {
        if ((p = nn_le_take(b, 4 * n)))
            memcpy(x, p, 4 * n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)nn_le_get(b, 4);
        memcpy(&x[i], &bits, sizeof bits);
    }
}


/* A count of floats followed by the floats themselves; 0 when the count
 * does not fit in what is left of the file. */
int nn_le_get_block(nn_le_buffer *b, uint64_t *count, nn_le_buffer *floats)
{
    *count = nn_le_get(b, 8);
    if (b->overrun || *count > nn_le_left(b) / 4)
        return 0;
    floats->data = nn_le_take(b, (size_t)*count * 4);
    floats->size = (size_t)*count * 4;
    floats->pos = 0;
    floats->overrun = 0;
    return 1;
}
