/* Files: whole-file reads (gzip decoded) and atomic writes, CRC-32,
 * Adler-32 and zlib streams, paths (src/io/file_io.c, src/io/inflate.c).
 * Used by the dataset loaders, the PNG reader and the model, checkpoint
 * and image writers; the atomic writer itself, nn_write_file_atomic, is
 * in nn/advanced.h. */
#ifndef NN_IO_IO_H
#define NN_IO_IO_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "nn/advanced.h"

/* Largest file (or decompressed stream) the dataset loaders accept. */
#define NN_DATA_MAX_BYTES ((size_t)1 << 30)

/* CRC-32 (IEEE 802.3, as in gzip and zlib) of size bytes, continuing from
 * crc (start with 0). */
uint32_t nn_crc32(uint32_t crc, const unsigned char *data, size_t size);
/* Adler-32 (RFC 1950, as in zlib streams) of size bytes, continuing from
 * adler (start with 1). */
uint32_t nn_adler32(uint32_t adler, const unsigned char *data, size_t size);
/* Decodes a gzip file (RFC 1952, one or more members) into a new buffer
 * *out of *out_size bytes (free with free()). NN_EFORMAT for a corrupt or
 * truncated stream, NN_EOVERFLOW when the output would exceed max_out. On
 * failure *out is NULL and *reason (when reason is not NULL) says why. */
nn_status nn_gunzip(const unsigned char *in, size_t in_size,
                    unsigned char **out, size_t *out_size, size_t max_out,
                    const char **reason);
/* Decodes one zlib stream (RFC 1950: header, DEFLATE data, Adler-32, and
 * nothing after it; no preset dictionary), as in PNG's IDAT chunks, into a
 * new buffer as nn_gunzip does: NN_EOVERFLOW when the output would exceed
 * max_out, which also bounds the first allocation. */
nn_status nn_zlib_decode(const unsigned char *in, size_t in_size,
                         unsigned char **out, size_t *out_size,
                         size_t max_out, const char **reason);
/* Reads a whole regular file of at most max_size bytes into a new buffer,
 * every read checked; a file starting with 1f 8b is gunzipped, its output
 * limited to max_plain bytes while it inflates (NN_EOVERFLOW past that:
 * a decompression bomb stops there). The file is opened without blocking and
 * anything but a regular file (a directory, a FIFO, a device) is refused
 * with NN_EIO before a byte is read: "PATH: is a FIFO, not a regular
 * file". On failure *data is NULL and msg names the file. */
nn_status nn_read_file(const char *path, size_t max_size, size_t max_plain,
                       unsigned char **data, size_t *size, char *msg,
                       size_t msg_size);
/* dir + "/" + name into buf; NN_EOVERFLOW when it does not fit. */
nn_status nn_path_join(const char *dir, const char *name, char *buf,
                       size_t size);
/* 1 when path can be opened for reading (without blocking on a FIFO). */
int nn_file_readable(const char *path);

#endif /* NN_IO_IO_H */
