/* PNG files (ISO/IEC 15948) read with nothing but libc: every colour type
 * and bit depth of a non-interlaced PNG, as 8-bit grey or RGB pixels.
 *
 * The file comes in through nn_read_file (regular files only, at most
 * NN_DATA_MAX_BYTES). A first pass checks every chunk with nothing
 * allocated but the file: its length against the bytes left, its CRC-32,
 * its place in the order the standard prescribes, and IHDR's fields, sides
 * bounded by NN_PNG_MAX_SIDE. Then the IDAT chunks are joined and inflated
 * (src/io/inflate.c) to exactly the size the header implies, the rows are
 * unfiltered in place and converted: 1, 2 and 4-bit samples scaled up to
 * 8 bits, 16-bit ones rounded to 8, alpha (an alpha channel or a tRNS
 * chunk) composited on black, the background of MNIST-style images. */
#include "io/io.h"
#include "io/png.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where messages go: "PATH: what is wrong". */
typedef struct {
    const char *path;
    char *msg;
    size_t msg_size;
} png_reader;

/* What the chunks before the image data say. */
typedef struct {
    uint32_t width, height;
    int depth, color;
    int samples;          /* per pixel: 1 (grey, index), 2, 3 or 4 */
    size_t row_bytes;     /* one row without its filter byte */
    size_t raw_size;      /* every row with its filter byte */
    int palette_size;     /* PLTE colours (0: none) */
    uint8_t palette[256][3]; /* composited on black with their tRNS alpha */
    uint8_t palette_alpha[256];
    int has_key;          /* a tRNS colour key: pixels of key[] are clear */
    unsigned key[3];
    size_t idat_size;     /* bytes of all IDAT chunks together */
} png_image;

/* Writes "PATH: text" into the message and returns status. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static nn_status refuse(const png_reader *r, nn_status status,
                        const char *format, ...)
{
    char text[320];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    nn_format_msg(r->msg, r->msg_size, "%s: %s", r->path, text);
    return status;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* "8-bit RGB", "4-bit palette", ... for messages. */
static const char *color_name(int color)
{
    switch (color) {
    case PNG_GREY: return "grey";
    case PNG_RGB: return "RGB";
    case PNG_PALETTE: return "palette";
    case PNG_GREY_ALPHA: return "grey+alpha";
    default: return "RGBA";
    }
}

/* ------------------------------------------------------------- chunks */

/* IHDR: sides within NN_PNG_MAX_SIDE, a depth the colour type allows,
 * the standard's compression and filter methods, no interlacing; then the
 * sizes of the rows, overflow-checked. Nothing is allocated. */
static nn_status read_ihdr(const png_reader *r, const unsigned char *d,
                           uint32_t length, png_image *img)
{
    static const char depths[7][17] = {
        [PNG_GREY] = {[1] = 1, [2] = 1, [4] = 1, [8] = 1, [16] = 1},
        [PNG_RGB] = {[8] = 1, [16] = 1},
        [PNG_PALETTE] = {[1] = 1, [2] = 1, [4] = 1, [8] = 1},
        [PNG_GREY_ALPHA] = {[8] = 1, [16] = 1},
        [PNG_RGBA] = {[8] = 1, [16] = 1}};
    static const int samples[7] = {1, 0, 3, 1, 2, 0, 4};
    size_t bits;
    if (length != PNG_IHDR_SIZE)
        return refuse(r, NN_EFORMAT, "IHDR chunk of %u bytes, not 13", length);
    img->width = be32(d);
    img->height = be32(d + 4);
    img->depth = d[8];
    img->color = d[9];
    if (img->width == 0 || img->height == 0 || img->width > PNG_CHUNK_MAX ||
        img->height > PNG_CHUNK_MAX)
        return refuse(r, NN_EFORMAT, "%ux%u pixels: each side must be from 1 "
                      "to 2^31-1", img->width, img->height);
    if (img->width > NN_PNG_MAX_SIDE || img->height > NN_PNG_MAX_SIDE)
        return refuse(r, NN_EOVERFLOW, "%ux%u pixels: more than %d on a side",
                      img->width, img->height, NN_PNG_MAX_SIDE);
    if (img->color > PNG_RGBA || samples[img->color] == 0)
        return refuse(r, NN_EFORMAT, "colour type %d: not a PNG colour type",
                      img->color);
    if (img->depth > 16 || !depths[img->color][img->depth])
        return refuse(r, NN_EFORMAT, "bit depth %d is not allowed for %s "
                      "images", img->depth, color_name(img->color));
    if (d[10] != 0 || d[11] != 0)
        return refuse(r, NN_EFORMAT, "unknown compression (%d) or filter "
                      "method (%d)", d[10], d[11]);
    if (d[12] == 1)
        return refuse(r, NN_EFORMAT, "Adam7-interlaced PNGs are not read; "
                      "save the image without interlacing");
    if (d[12] != 0)
        return refuse(r, NN_EFORMAT, "unknown interlace method %d", d[12]);
    img->samples = samples[img->color];
    /* At most 16384 * 4 * 16 bits a row: no overflow before the product. */
    bits = (size_t)img->width * (size_t)img->samples * (size_t)img->depth;
    img->row_bytes = (bits + 7) / 8;
    if (!nn_mul_size(img->row_bytes + 1, img->height, &img->raw_size) ||
        img->raw_size > NN_DATA_MAX_BYTES)
        return refuse(r, NN_EOVERFLOW, "%ux%u %d-bit %s pixels: more than "
                      "%zu bytes of image data", img->width, img->height,
                      img->depth, color_name(img->color), NN_DATA_MAX_BYTES);
    return NN_OK;
}

/* PLTE: 1 to 256 colours, kept for palette images (a suggested palette of
 * an RGB image is only checked); none in grey images. */
static nn_status read_plte(const png_reader *r, const unsigned char *d,
                           uint32_t length, png_image *img)
{
    if (img->color == PNG_GREY || img->color == PNG_GREY_ALPHA)
        return refuse(r, NN_EFORMAT, "a PLTE chunk in a %s image",
                      color_name(img->color));
    if (length == 0 || length % 3 != 0 || length > 3 * 256)
        return refuse(r, NN_EFORMAT, "PLTE chunk of %u bytes: not 1 to 256 "
                      "colours of 3 bytes", length);
    if (img->color != PNG_PALETTE)
        return NN_OK;
    img->palette_size = (int)(length / 3);
    memcpy(img->palette, d, length);
    return NN_OK;
}

/* tRNS: an alpha per palette entry (at most one per colour), or the one
 * grey or RGB value that is transparent; none with an alpha channel. */
static nn_status read_trns(const png_reader *r, const unsigned char *d,
                           uint32_t length, png_image *img)
{
    if (img->color == PNG_GREY_ALPHA || img->color == PNG_RGBA)
        return refuse(r, NN_EFORMAT, "a tRNS chunk in a %s image, which has "
                      "an alpha channel", color_name(img->color));
    if (img->color == PNG_PALETTE) {
        if (img->palette_size == 0)
            return refuse(r, NN_EFORMAT, "a tRNS chunk before the PLTE chunk");
        if (length > (uint32_t)img->palette_size)
            return refuse(r, NN_EFORMAT, "tRNS chunk of %u alpha values for %d "
                          "colours", length, img->palette_size);
        memcpy(img->palette_alpha, d, length);
        return NN_OK;
    }
    if (length != (img->color == PNG_GREY ? 2u : 6u))
        return refuse(r, NN_EFORMAT, "tRNS chunk of %u bytes in a %s image "
                      "(expected %d)", length, color_name(img->color),
                      img->color == PNG_GREY ? 2 : 6);
    img->has_key = 1;
    for (int k = 0; k < img->samples; k++)
        img->key[k] = (unsigned)d[2 * k] << 8 | d[2 * k + 1];
    return NN_OK;
}

/* Chunk types are four ASCII letters; the first one's case says whether a
 * reader may skip the chunk (lower: ancillary) or not (upper: critical). */
static int is_letters(const unsigned char *type)
{
    for (int i = 0; i < 4; i++)
        if (!((type[i] >= 'A' && type[i] <= 'Z') ||
              (type[i] >= 'a' && type[i] <= 'z')))
            return 0;
    return 1;
}

/* Where the walk through the chunks is. */
typedef struct {
    int ihdr, plte, trns; /* seen */
    int idat;             /* 0 none yet, 1 in the IDAT run, 2 after it */
} chunk_order;

/* Checks one chunk's type against what came before it and reads it. */
static nn_status read_chunk(const png_reader *r, const unsigned char *type,
                            const unsigned char *d, uint32_t length,
                            chunk_order *seen, png_image *img)
{
    int is_idat = !memcmp(type, "IDAT", 4);
    if (seen->idat == 1 && !is_idat)
        seen->idat = 2;
    if (!seen->ihdr) {
        if (memcmp(type, "IHDR", 4))
            return refuse(r, NN_EFORMAT, "the first chunk is '%.4s', not IHDR",
                          (const char *)type);
        seen->ihdr = 1;
        return read_ihdr(r, d, length, img);
    }
    if (!memcmp(type, "IHDR", 4))
        return refuse(r, NN_EFORMAT, "a second IHDR chunk");
    if (is_idat) {
        if (seen->idat == 2)
            return refuse(r, NN_EFORMAT, "IDAT chunks that do not follow one "
                          "another");
        if (img->color == PNG_PALETTE && img->palette_size == 0)
            return refuse(r, NN_EFORMAT, "a palette image without a PLTE chunk "
                          "before its image data");
        seen->idat = 1;
        img->idat_size += length; /* at most the file's size */
        return NN_OK;
    }
    if (!memcmp(type, "PLTE", 4) || !memcmp(type, "tRNS", 4)) {
        int plte = type[0] == 'P';
        if (seen->idat)
            return refuse(r, NN_EFORMAT, "a %.4s chunk after the image data",
                          (const char *)type);
        if (plte ? seen->plte++ : seen->trns++)
            return refuse(r, NN_EFORMAT, "a second %.4s chunk",
                          (const char *)type);
        return plte ? read_plte(r, d, length, img) : read_trns(r, d, length, img);
    }
    if (!memcmp(type, "IEND", 4)) {
        if (length != 0)
            return refuse(r, NN_EFORMAT, "IEND chunk of %u bytes, not 0", length);
        if (!seen->idat)
            return refuse(r, NN_EFORMAT, "no IDAT chunk: the image has no data");
        return NN_OK;
    }
    if (!(type[0] & 0x20)) /* an upper-case first letter */
        return refuse(r, NN_EFORMAT, "unknown critical chunk '%.4s'",
                      (const char *)type);
    return NN_OK; /* ancillary (text, gamma, ...): not needed for pixels */
}

/* Walks every chunk: its length within the file, letters for its type,
 * its CRC-32, then its place and contents (read_chunk), up to IEND, which
 * must end the file. */
static nn_status read_chunks(const png_reader *r, const unsigned char *file,
                             size_t size, png_image *img)
{
    chunk_order seen = {0, 0, 0, 0};
    size_t pos = PNG_SIGNATURE_SIZE;
    if (size < PNG_SIGNATURE_SIZE ||
        memcmp(file, PNG_SIGNATURE, PNG_SIGNATURE_SIZE))
        return refuse(r, NN_EFORMAT, "not a PNG file (no PNG signature)");
    for (;;) {
        const unsigned char *type, *d;
        uint32_t length;
        nn_status st;
        if (pos == size)
            return refuse(r, NN_EFORMAT, "truncated: the file ends before its "
                          "IEND chunk");
        if (size - pos < PNG_CHUNK_OVERHEAD)
            return refuse(r, NN_EFORMAT, "truncated: %zu bytes at byte %zu are "
                          "not a whole chunk", size - pos, pos);
        length = be32(file + pos);
        type = file + pos + 4;
        d = file + pos + 8;
        if (!is_letters(type))
            return refuse(r, NN_EFORMAT, "the chunk at byte %zu has no type "
                          "(%02x %02x %02x %02x are not 4 letters)", pos,
                          type[0], type[1], type[2], type[3]);
        if (length > PNG_CHUNK_MAX || length > size - pos - PNG_CHUNK_OVERHEAD)
            return refuse(r, NN_EFORMAT, "truncated: chunk '%.4s' at byte %zu "
                          "claims %u bytes, %zu are left", (const char *)type,
                          pos, length, size - pos - PNG_CHUNK_OVERHEAD);
        if (be32(d + length) != nn_crc32(0, type, (size_t)length + 4))
            return refuse(r, NN_EFORMAT, "chunk '%.4s' at byte %zu: CRC-32 "
                          "mismatch (the file is corrupt)", (const char *)type,
                          pos);
        if ((st = read_chunk(r, type, d, length, &seen, img)) != NN_OK)
            return st;
        pos += PNG_CHUNK_OVERHEAD + length;
        if (!memcmp(type, "IEND", 4))
            break;
    }
    if (pos != size)
        return refuse(r, NN_EFORMAT, "%zu bytes after the IEND chunk",
                      size - pos);
    return NN_OK;
}

/* ------------------------------------------------------------ pixels */

/* All IDAT data in one new buffer (the chunks are known to be sound). */
static unsigned char *join_idat(const unsigned char *file, size_t idat_size)
{
    unsigned char *z = malloc(idat_size > 0 ? idat_size : 1);
    size_t pos = PNG_SIGNATURE_SIZE, n = 0;
    if (!z)
        return NULL;
    while (memcmp(file + pos + 4, "IEND", 4)) {
        uint32_t length = be32(file + pos);
        if (!memcmp(file + pos + 4, "IDAT", 4)) {
            memcpy(z + n, file + pos + 8, length);
            n += length;
        }
        pos += PNG_CHUNK_OVERHEAD + length;
    }
    return z;
}

/* The IDAT data inflated to exactly img->raw_size bytes: any other size
 * is refused, and inflating stops as soon as it would be exceeded. */
static nn_status inflate_image(const png_reader *r, const unsigned char *file,
                               const png_image *img, unsigned char **raw)
{
    unsigned char *z = join_idat(file, img->idat_size);
    size_t got = 0;
    const char *why = NULL;
    nn_status st;
    if (!z)
        return refuse(r, NN_ENOMEM, "out of memory for %zu bytes of image "
                      "data", img->idat_size);
    st = nn_zlib_decode(z, img->idat_size, raw, &got, img->raw_size, &why);
    free(z);
    if (st == NN_EOVERFLOW)
        return refuse(r, NN_EFORMAT, "the image data inflates to more than "
                      "the %zu bytes %ux%u %d-bit %s pixels take",
                      img->raw_size, img->width, img->height, img->depth,
                      color_name(img->color));
    if (st != NN_OK)
        return refuse(r, st, "image data: %s", why ? why : nn_status_str(st));
    if (got != img->raw_size) {
        free(*raw);
        *raw = NULL;
        return refuse(r, NN_EFORMAT, "the image data inflates to %zu bytes, "
                      "%ux%u %d-bit %s pixels take %zu", got, img->width,
                      img->height, img->depth, color_name(img->color),
                      img->raw_size);
    }
    return NN_OK;
}

/* Paeth's predictor: whichever of left, up and up-left is closest to
 * left + up - up_left (ties in that order). */
static unsigned paeth(unsigned a, unsigned b, unsigned c)
{
    int p = (int)a + (int)b - (int)c;
    int pa = abs(p - (int)a), pb = abs(p - (int)b), pc = abs(p - (int)c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the filters in place, row by row (section 9 of the standard):
 * each byte was coded against the byte bpp to its left (a), above (b)
 * and above-left (c), zero outside the image. */
static nn_status unfilter(const png_reader *r, const png_image *img,
                          unsigned char *raw)
{
    size_t stride = img->row_bytes + 1, n = img->row_bytes;
    size_t bpp = ((size_t)img->samples * (size_t)img->depth + 7) / 8;
    for (uint32_t y = 0; y < img->height; y++) {
        unsigned char *row = raw + y * stride + 1;
        const unsigned char *up = y > 0 ? row - stride : NULL;
        unsigned type = row[-1];
        size_t i;
        switch (type) {
        case 0: /* None */
            break;
        case 1: /* Sub */
            for (i = bpp; i < n; i++)
                row[i] = (unsigned char)(row[i] + row[i - bpp]);
            break;
        case 2: /* Up */
            for (i = 0; up && i < n; i++)
                row[i] = (unsigned char)(row[i] + up[i]);
            break;
        case 3: /* Average */
            for (i = 0; i < n; i++) {
                unsigned a = i >= bpp ? row[i - bpp] : 0, b = up ? up[i] : 0;
                row[i] = (unsigned char)(row[i] + (a + b) / 2);
            }
            break;
        case 4: /* Paeth */
            for (i = 0; i < n; i++) {
                unsigned a = i >= bpp ? row[i - bpp] : 0, b = up ? up[i] : 0;
                unsigned c = up && i >= bpp ? up[i - bpp] : 0;
                row[i] = (unsigned char)(row[i] + paeth(a, b, c));
            }
            break;
        default:
            return refuse(r, NN_EFORMAT, "row %u: unknown filter type %u", y,
                          type);
        }
    }
    return NN_OK;
}

/* Sample i of a row at depth bits: big-endian for 16, packed from the
 * most significant bit for 1, 2 and 4. */
static unsigned sample(const unsigned char *row, size_t i, int depth)
{
    size_t bit;
    if (depth == 8)
        return row[i];
    if (depth == 16)
        return (unsigned)row[2 * i] << 8 | row[2 * i + 1];
    bit = i * (size_t)depth;
    return (unsigned)(row[bit / 8] >> (8 - depth - (int)(bit % 8))) &
           ((1u << depth) - 1u);
}

/* A sample scaled to 0..255: 1, 2 and 4 bits exactly (times 255, 85,
 * 17), 16 bits rounded. */
static unsigned to8(unsigned v, int depth)
{
    if (depth == 16)
        return (v * 255u + 32767u) / 65535u;
    return v * 255u / ((1u << depth) - 1u);
}

/* v seen through alpha a over black, both 0..255, rounded. */
static uint8_t over_black(unsigned v, unsigned a)
{
    return (uint8_t)((v * a + 127u) / 255u);
}

/* The palette over black with its tRNS alphas; 1 when every colour is
 * then a grey (the image is read with one channel). */
static int composite_palette(png_image *img)
{
    int grey = 1;
    for (int i = 0; i < img->palette_size; i++) {
        uint8_t *rgb = img->palette[i];
        for (int k = 0; k < 3; k++)
            rgb[k] = over_black(rgb[k], img->palette_alpha[i]);
        grey &= rgb[0] == rgb[1] && rgb[1] == rgb[2];
    }
    return grey;
}

/* One unfiltered row into out, channels (1 or 3) bytes a pixel. */
static nn_status convert_row(const png_reader *r, const png_image *img,
                             const unsigned char *row, uint32_t y,
                             int channels, uint8_t *out)
{
    int depth = img->depth, k;
    for (uint32_t x = 0; x < img->width; x++, out += channels) {
        size_t s = (size_t)x * (size_t)img->samples;
        unsigned v[4] = {0, 0, 0, 255};
        if (img->color == PNG_PALETTE) {
            unsigned index = sample(row, x, depth);
            if (index >= (unsigned)img->palette_size)
                return refuse(r, NN_EFORMAT, "pixel (%u, %u) has palette index "
                              "%u; the palette has %d colours", x, y, index,
                              img->palette_size);
            memcpy(out, img->palette[index], (size_t)channels);
            continue;
        }
        for (k = 0; k < img->samples; k++)
            v[k] = sample(row, s + (size_t)k, depth);
        if (img->has_key) {
            int clear = 1;
            for (k = 0; k < img->samples; k++)
                clear &= v[k] == img->key[k];
            if (clear) {
                memset(out, 0, (size_t)channels);
                continue;
            }
        }
        for (k = 0; k < img->samples; k++)
            v[k] = to8(v[k], depth);
        if (img->color == PNG_GREY_ALPHA)
            v[3] = v[1];
        for (k = 0; k < channels; k++)
            out[k] = over_black(v[k], v[3]);
    }
    return NN_OK;
}

/* Unfilters raw and converts it into new pixels (height, width, channels). */
static nn_status convert(const png_reader *r, png_image *img,
                         unsigned char *raw, uint8_t **pixels, int *channels)
{
    size_t stride = img->row_bytes + 1, count;
    int grey_palette = img->color == PNG_PALETTE && composite_palette(img);
    nn_status st = unfilter(r, img, raw);
    uint8_t *out;
    if (st != NN_OK)
        return st;
    *channels = img->color == PNG_GREY || img->color == PNG_GREY_ALPHA ||
                grey_palette ? 1 : 3;
    /* At most 16384^2 * 3 bytes: no overflow in size_t. */
    count = (size_t)img->width * img->height * (size_t)*channels;
    if (!(out = malloc(count)))
        return refuse(r, NN_ENOMEM, "out of memory for %zu bytes of pixels",
                      count);
    for (uint32_t y = 0; y < img->height && st == NN_OK; y++)
        st = convert_row(r, img, raw + y * stride + 1, y, *channels,
                         out + (size_t)y * img->width * (size_t)*channels);
    if (st != NN_OK) {
        free(out);
        return st;
    }
    *pixels = out;
    return NN_OK;
}

/* The whole file, in memory, into pixels. */
static nn_status decode(const png_reader *r, const unsigned char *file,
                        size_t size, uint8_t **pixels, int *width,
                        int *height, int *channels)
{
    png_image img;
    unsigned char *raw = NULL;
    nn_status st;
    memset(&img, 0, sizeof img);
    memset(img.palette_alpha, 255, sizeof img.palette_alpha);
    st = read_chunks(r, file, size, &img);
    if (st == NN_OK)
        st = inflate_image(r, file, &img, &raw);
    if (st == NN_OK)
        st = convert(r, &img, raw, pixels, channels);
    free(raw);
    if (st != NN_OK) {
        *channels = 0;
        return st;
    }
    *width = (int)img.width;
    *height = (int)img.height;
    return NN_OK;
}

nn_status nn_png_read(const char *path, uint8_t **pixels, int *width,
                      int *height, int *channels, char *msg, size_t msg_size)
{
    png_reader r = {path, msg, msg_size};
    unsigned char *file = NULL;
    size_t size = 0;
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (pixels)
        *pixels = NULL;
    if (width)
        *width = 0;
    if (height)
        *height = 0;
    if (channels)
        *channels = 0;
    if (!path || !pixels || !width || !height || !channels) {
        nn_format_msg(msg, msg_size, "%s: %s", path ? path : "(no path)",
                      path ? "no place for the pixels or their shape"
                           : "no path");
        return NN_EINVAL;
    }
    st = nn_read_file(path, NN_DATA_MAX_BYTES, NN_DATA_MAX_BYTES, &file, &size,
                      msg, msg_size);
    if (st != NN_OK)
        return st;
    st = decode(&r, file, size, pixels, width, height, channels);
    free(file);
    return st;
}
