/* PNG files (ISO/IEC 15948) written with nothing but libc: 8-bit gray or
 * RGB, no interlacing, every scanline with filter type 0 (None), and the
 * zlib stream (RFC 1950) made of stored DEFLATE blocks (RFC 1951, BTYPE 00).
 * The files are larger than a compressor's, the encoder is small and easy
 * to check. The whole file is laid out in memory, then written atomically. */
#include "io/io.h"
#include "io/png.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

#define PNG_STORED_MAX 65535u       /* bytes in one stored DEFLATE block */

/* A byte buffer sized exactly beforehand and filled from the front. */
typedef struct {
    unsigned char *data;
    size_t pos;
} png_buffer;

static void put_bytes(png_buffer *b, const void *src, size_t n)
{
    memcpy(b->data + b->pos, src, n);
    b->pos += n;
}

/* PNG's integers are big-endian. */
static void put_be32(png_buffer *b, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        b->data[b->pos++] = (unsigned char)(v >> (8 * i));
}

/* DEFLATE's block lengths are little-endian. */
static void put_le16(png_buffer *b, uint32_t v)
{
    b->data[b->pos++] = (unsigned char)v;
    b->data[b->pos++] = (unsigned char)(v >> 8);
}

/* Starts a chunk of `length` data bytes; returns where its CRC starts. */
static size_t chunk_begin(png_buffer *b, uint32_t length, const char *type)
{
    size_t start;
    put_be32(b, length);
    start = b->pos;
    put_bytes(b, type, 4);
    return start;
}

/* Ends a chunk with the CRC-32 of its type and data. */
static void chunk_end(png_buffer *b, size_t start)
{
    put_be32(b, nn_crc32(0, b->data + start, b->pos - start));
}

/* The raw (filtered) image data cut into stored blocks as it is written. */
typedef struct {
    size_t total_left; /* raw bytes not yet written */
    size_t block_left; /* room left in the current block */
    uint32_t adler;    /* Adler-32 of the raw bytes so far */
} stored_stream;

/* Appends n raw bytes, opening a block (BFINAL on the last one, BTYPE 00,
 * LEN, NLEN) whenever the current one is full. */
static void stored_put(png_buffer *b, stored_stream *s,
                       const unsigned char *src, size_t n)
{
    s->adler = nn_adler32(s->adler, src, n);
    while (n > 0) {
        size_t take;
        if (s->block_left == 0) {
            size_t len = s->total_left < PNG_STORED_MAX ? s->total_left
                                                        : PNG_STORED_MAX;
            b->data[b->pos++] = (unsigned char)(len == s->total_left);
            put_le16(b, (uint32_t)len);
            put_le16(b, (uint32_t)~len & 0xffffu);
            s->block_left = len;
        }
        take = n < s->block_left ? n : s->block_left;
        put_bytes(b, src, take);
        src += take;
        n -= take;
        s->block_left -= take;
        s->total_left -= take;
    }
}

/* Sizes of the parts: a row with its filter byte, the raw data, the zlib
 * stream (header, blocks with 5-byte headers, Adler-32) and the file.
 * NN_EOVERFLOW when the zlib stream does not fit in one chunk. */
static nn_status png_sizes(int width, int height, int channels, size_t *row,
                           size_t *raw, size_t *zlib, size_t *file)
{
    size_t blocks;
    if ((size_t)width > (PNG_CHUNK_MAX - 1) / (size_t)channels)
        return NN_EOVERFLOW;
    *row = 1 + (size_t)width * (size_t)channels;
    if (!nn_mul_size(*row, (size_t)height, raw) || *raw > PNG_CHUNK_MAX)
        return NN_EOVERFLOW;
    blocks = (*raw + PNG_STORED_MAX - 1) / PNG_STORED_MAX;
    *zlib = 2 + *raw + 5 * blocks + 4;
    if (*zlib > PNG_CHUNK_MAX)
        return NN_EOVERFLOW;
    *file = 8 + (PNG_CHUNK_OVERHEAD + PNG_IHDR_SIZE) +
            (PNG_CHUNK_OVERHEAD + *zlib) + PNG_CHUNK_OVERHEAD;
    return NN_OK;
}

/* Lays the file out in b: signature, IHDR, one IDAT, IEND. */
static void png_encode(png_buffer *b, const uint8_t *pixels, int width,
                       int height, int channels, size_t row, size_t raw,
                       size_t zlib)
{
    static const unsigned char filter_none = 0;
    stored_stream s = {raw, 0, 1};
    size_t start;
    put_bytes(b, PNG_SIGNATURE, PNG_SIGNATURE_SIZE);
    start = chunk_begin(b, PNG_IHDR_SIZE, "IHDR");
    put_be32(b, (uint32_t)width);
    put_be32(b, (uint32_t)height);
    b->data[b->pos++] = 8;                     /* bits per sample */
    b->data[b->pos++] = channels == 3 ? PNG_RGB : PNG_GREY; /* colour type */
    b->data[b->pos++] = 0;                     /* compression: deflate */
    b->data[b->pos++] = 0;                     /* filtering: adaptive */
    b->data[b->pos++] = 0;                     /* no interlace */
    chunk_end(b, start);
    start = chunk_begin(b, (uint32_t)zlib, "IDAT");
    b->data[b->pos++] = 0x78; /* CM 8 (deflate), CINFO 7 (32K window) */
    b->data[b->pos++] = 0x01; /* FCHECK: 0x7801 is a multiple of 31 */
    for (int y = 0; y < height; y++) {
        stored_put(b, &s, &filter_none, 1);
        stored_put(b, &s, pixels + (size_t)y * (row - 1), row - 1);
    }
    put_be32(b, s.adler);
    chunk_end(b, start);
    start = chunk_begin(b, 0, "IEND");
    chunk_end(b, start);
}

nn_status nn_png_write(const char *path, const uint8_t *pixels, int width,
                       int height, int channels, char *msg, size_t msg_size)
{
    size_t row, raw, zlib, size;
    png_buffer b = {NULL, 0};
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!path || !pixels || width <= 0 || height <= 0 ||
        (channels != 1 && channels != 3)) {
        nn_format_msg(msg, msg_size, "%s: %s", path ? path : "(no path)",
                      !path ? "no path" : !pixels ? "no pixels"
                      : channels != 1 && channels != 3
                          ? "channels must be 1 (gray) or 3 (RGB)"
                          : "width and height must be positive");
        return NN_EINVAL;
    }
    st = png_sizes(width, height, channels, &row, &raw, &zlib, &size);
    if (st != NN_OK) {
        nn_format_msg(msg, msg_size, "%s: %dx%d pixels do not fit in a PNG "
                      "of stored blocks", path, width, height);
        return st;
    }
    if (!(b.data = malloc(size))) {
        nn_format_msg(msg, msg_size, "%s: out of memory for %zu bytes", path,
                      size);
        return NN_ENOMEM;
    }
    png_encode(&b, pixels, width, height, channels, row, raw, zlib);
    st = nn_write_file_atomic(path, b.data, b.pos, msg, msg_size);
    free(b.data);
    return st;
}
