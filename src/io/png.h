/* What the PNG writer (src/io/png.c) and reader (src/io/png_read.c) share:
 * the signature, chunk framing and colour types of ISO/IEC 15948. */
#ifndef NN_IO_PNG_H
#define NN_IO_PNG_H

#define PNG_SIGNATURE "\x89PNG\r\n\x1a\n"
#define PNG_SIGNATURE_SIZE 8u
#define PNG_CHUNK_MAX 0x7fffffffu   /* largest chunk length PNG allows */
#define PNG_CHUNK_OVERHEAD 12u      /* length, type and CRC of a chunk */
#define PNG_IHDR_SIZE 13u

/* IHDR colour types: bit 0 palette, bit 1 colour, bit 2 alpha. */
enum {
    PNG_GREY = 0,
    PNG_RGB = 2,
    PNG_PALETTE = 3,
    PNG_GREY_ALPHA = 4,
    PNG_RGBA = 6
};

#endif /* NN_IO_PNG_H */
