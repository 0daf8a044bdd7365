/* Little-endian byte buffers for the binary file formats (model files,
 * checkpoints): fixed-width integers and IEEE-754 floats read and written
 * from the front, whatever the host's byte order (src/io/le_buffer.c). */
#ifndef NN_IO_LE_BUFFER_H
#define NN_IO_LE_BUFFER_H

#include <stddef.h>
#include <stdint.h>

/* A byte buffer read or written from the front; a field that does not fit
 * sets `overrun` instead of touching memory past the end. */
typedef struct {
    unsigned char *data;
    size_t size, pos;
    int overrun; /* 1 once a field did not fit (a truncated file) */
} nn_le_buffer;

/* Room for n more bytes at the cursor: a pointer to them, or NULL (and
 * overrun set) when they do not fit. */
unsigned char *nn_le_take(nn_le_buffer *b, size_t n);
/* Bytes left after the cursor. */
size_t nn_le_left(const nn_le_buffer *b);
/* Copies n bytes in at the cursor. */
void nn_le_put_bytes(nn_le_buffer *b, const void *src, size_t n);
/* The low `bytes` bytes of v, lowest first. */
void nn_le_put(nn_le_buffer *b, uint64_t v, int bytes);
/* `bytes` bytes, lowest first (0 when the buffer is short). */
uint64_t nn_le_get(nn_le_buffer *b, int bytes);
/* n floats as IEEE-754 binary32 bit patterns, little-endian. */
void nn_le_put_floats(nn_le_buffer *b, const float *x, size_t n);
/* n floats back from their bit patterns. */
void nn_le_get_floats(nn_le_buffer *b, float *x, size_t n);
/* A u64 count of floats followed by the floats themselves: floats views
 * them; 0 when the count does not fit in what is left of b. */
int nn_le_get_block(nn_le_buffer *b, uint64_t *count, nn_le_buffer *floats);

#endif /* NN_IO_LE_BUFFER_H */
