/* A small Protocol Buffers wire-format writer and reader (src/io/
 * protobuf.c), enough for ONNX files: varints, fixed 32-bit floats and
 * length-delimited fields (strings, bytes, packed arrays, nested messages).
 * The reader never reads past its buffer: every length is checked against
 * the bytes left before it is used. */
#ifndef NN_IO_PROTOBUF_H
#define NN_IO_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

/* ------------------------------------------------------------- writing */

/* A growing byte buffer; `failed` is set (and writing stops) when memory
 * runs out or the size limit is passed. */
typedef struct {
    unsigned char *data;
    size_t size, capacity, limit;
    int failed;
} nn_pb_writer;

/* An empty writer whose output may grow to limit bytes. */
void nn_pb_init(nn_pb_writer *w, size_t limit);
/* Frees the buffer. */
void nn_pb_free(nn_pb_writer *w);
/* Field `field` as a varint (int32, int64, enum, bool). */
void nn_pb_varint(nn_pb_writer *w, int field, uint64_t value);
/* Field `field` as a 32-bit float. */
void nn_pb_float(nn_pb_writer *w, int field, float value);
/* Field `field` as length-delimited bytes. */
void nn_pb_bytes(nn_pb_writer *w, int field, const void *data, size_t size);
/* Field `field` as a NUL-terminated string. */
void nn_pb_string(nn_pb_writer *w, int field, const char *text);
/* Field `field` as floats, little-endian, length-delimited (raw or packed). */
void nn_pb_floats(nn_pb_writer *w, int field, const float *x, size_t n);
/* Starts a nested message in field `field`; returns a mark for nn_pb_end. */
size_t nn_pb_begin(nn_pb_writer *w, int field);
/* Ends the nested message begun at mark: writes its length before it. */
void nn_pb_end(nn_pb_writer *w, size_t mark);

/* ------------------------------------------------------------- reading */

/* Wire types. */
enum { NN_PB_VARINT = 0, NN_PB_FIXED64 = 1, NN_PB_BYTES = 2, NN_PB_FIXED32 = 5 };

/* A message being read: [p, end). */
typedef struct {
    const unsigned char *p, *end;
} nn_pb_reader;

/* One field: its number and wire type, and its value (varint, fixed32 bits
 * or fixed64 bits in `value`; bytes in [data, data + size)). */
typedef struct {
    int field, wire;
    uint64_t value;
    const unsigned char *data;
    size_t size;
} nn_pb_field;

/* The next field of r into f: 1, or 0 at the end of the message, or -1
 * when the bytes are malformed (truncated, overlong varint, a length past
 * the end, a group or unknown wire type, field number 0). */
int nn_pb_next(nn_pb_reader *r, nn_pb_field *f);
/* One varint at r->p into *v, r moved past it (the values of a packed
 * repeated integer field stand back to back); 0 when it is truncated or
 * longer than 10 bytes. */
int nn_pb_read_varint(nn_pb_reader *r, uint64_t *v);
/* A reader over a bytes field. */
nn_pb_reader nn_pb_sub(const nn_pb_field *f);
/* The float a fixed32 field holds. */
float nn_pb_to_float(const nn_pb_field *f);

#endif /* NN_IO_PROTOBUF_H */
