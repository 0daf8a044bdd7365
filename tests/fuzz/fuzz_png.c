/* libFuzzer target: nn_png_read.
 *
 * An input that starts with the PNG signature is read as a file twice: as
 * it is, and with every chunk's CRC-32 made right, so that mutations reach
 * what comes after the checksums (IHDR, the order of the chunks, the zlib
 * stream). Any other input is cut by fuzz_split: part 0 holds IHDR's 13
 * bytes, then a PLTE body (with mode bit 0, its last mode >> 1 bytes are a
 * tRNS body instead); part 1 holds the filtered rows, which the harness
 * wraps in a zlib stream of stored blocks with the right Adler-32, so that
 * mutations reach the filters and the pixel conversion directly.
 *
 * A read that succeeds must give 1 to NN_PNG_MAX_SIDE pixels a side, 1 or
 * 3 channels, and the same pixels again when they are written as an 8-bit
 * PNG (in memory) and read back; a read that fails must leave the outputs
 * empty and say why. */
#include "fuzz_util.h"
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

/* A PNG built in memory, grown as needed. */
typedef struct {
    uint8_t *d;
    size_t n;
} png_bytes;

static void put(png_bytes *p, const void *src, size_t n)
{
    p->d = realloc(p->d, p->n + n + 1);
    FUZZ_CHECK(p->d != NULL);
    if (n > 0)
        memcpy(p->d + p->n, src, n);
    p->n += n;
}

static void put_be32(png_bytes *p, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    put(p, b, 4);
}

/* A chunk with its CRC-32. */
static void put_chunk(png_bytes *p, const char *type, const uint8_t *body,
                      size_t n)
{
    size_t at;
    put_be32(p, (uint32_t)n);
    at = p->n;
    put(p, type, 4);
    put(p, body, n);
    put_be32(p, nn_crc32(0, p->d + at, n + 4));
}

/* The rows as a zlib stream of stored blocks, in one IDAT chunk. */
static void put_idat(png_bytes *p, const uint8_t *raw, size_t n)
{
    png_bytes z = {NULL, 0};
    size_t done = 0;
    put(&z, "\x78\x01", 2);
    do {
        size_t len = n - done < 65535 ? n - done : 65535;
        uint8_t head[5] = {(uint8_t)(done + len == n), (uint8_t)len,
                           (uint8_t)(len >> 8), (uint8_t)~len,
                           (uint8_t)(~len >> 8)};
        put(&z, head, 5);
        put(&z, raw + done, len);
        done += len;
    } while (done < n);
    put_be32(&z, nn_adler32(1, raw, n));
    put_chunk(p, "IDAT", z.d, z.n);
    free(z.d);
}

/* Writes pixels as an 8-bit grey or RGB PNG with filter None, reads it
 * back and requires the same pixels. */
static void check_rewrite(const uint8_t *px, int w, int h, int c)
{
    uint8_t ihdr[13] = {0}, *raw;
    size_t row = (size_t)w * (size_t)c, n = (row + 1) * (size_t)h;
    png_bytes p = {NULL, 0};
    uint8_t *back = NULL;
    int w2, h2, c2;
    for (int i = 0; i < 4; i++) {
        ihdr[i] = (uint8_t)((uint32_t)w >> (24 - 8 * i));
        ihdr[4 + i] = (uint8_t)((uint32_t)h >> (24 - 8 * i));
    }
    ihdr[8] = 8;
    ihdr[9] = c == 3 ? 2 : 0;
    raw = calloc(n, 1);
    FUZZ_CHECK(raw != NULL);
    for (int y = 0; y < h; y++)
        memcpy(raw + (size_t)y * (row + 1) + 1, px + (size_t)y * row, row);
    put(&p, "\x89PNG\r\n\x1a\n", 8);
    put_chunk(&p, "IHDR", ihdr, sizeof ihdr);
    put_idat(&p, raw, n);
    put_chunk(&p, "IEND", NULL, 0);
    free(raw);
    FUZZ_CHECK(nn_png_read(fuzz_file(3, p.d, p.n, 0), &back, &w2, &h2, &c2,
                           NULL, 0) == NN_OK);
    FUZZ_CHECK(w2 == w && h2 == h && c2 == c);
    FUZZ_CHECK(memcmp(back, px, (size_t)h * row) == 0);
    free(back);
    free(p.d);
}

/* Reads the bytes through memory file slot and checks the result. */
static void read_and_check(const uint8_t *data, size_t size, int slot)
{
    const char *path = fuzz_file(slot, data, size, 0);
    uint8_t *px = (uint8_t *)"";
    int w = -1, h = -1, c = -1;
    char msg[256];
    nn_status st;
    FUZZ_CHECK(path != NULL);
    st = nn_png_read(path, &px, &w, &h, &c, msg, sizeof msg);
    FUZZ_CHECK(strlen(msg) < sizeof msg);
    if (st != NN_OK) {
        FUZZ_CHECK(px == NULL && w == 0 && h == 0 && c == 0 && msg[0] != '\0');
        return;
    }
    FUZZ_CHECK(msg[0] == '\0' && px != NULL);
    FUZZ_CHECK(w >= 1 && w <= NN_PNG_MAX_SIDE && h >= 1 && h <= NN_PNG_MAX_SIDE);
    FUZZ_CHECK(c == 1 || c == 3);
    check_rewrite(px, w, h, c);
    free(px);
}

/* The input with every whole chunk's CRC-32 recomputed. */
static void fix_crcs(uint8_t *d, size_t size)
{
    size_t pos = 8;
    while (size - pos >= 12) {
        uint32_t len = (uint32_t)d[pos] << 24 | (uint32_t)d[pos + 1] << 16 |
                       (uint32_t)d[pos + 2] << 8 | d[pos + 3];
        uint32_t crc;
        if (len > size - pos - 12)
            break;
        crc = nn_crc32(0, d + pos + 4, (size_t)len + 4);
        for (int i = 0; i < 4; i++)
            d[pos + 8 + len + i] = (uint8_t)(crc >> (24 - 8 * i));
        pos += 12 + (size_t)len;
    }
}

/* A PNG put together from the parts of a structured input. */
static void build_from_parts(const fuzz_parts *in, png_bytes *p)
{
    uint8_t ihdr[13] = {0};
    const uint8_t *rest = in->part[0] + (in->size[0] < 13 ? in->size[0] : 13);
    size_t rest_n = in->size[0] > 13 ? in->size[0] - 13 : 0, trns_n = 0;
    memcpy(ihdr, in->part[0], in->size[0] < 13 ? in->size[0] : 13);
    if (in->mode & 1) {
        trns_n = (in->mode >> 1) < rest_n ? (in->mode >> 1) : rest_n;
        rest_n -= trns_n;
    }
    put(p, "\x89PNG\r\n\x1a\n", 8);
    put_chunk(p, "IHDR", ihdr, sizeof ihdr);
    if (rest_n > 0)
        put_chunk(p, "PLTE", rest, rest_n);
    if (in->mode & 1)
        put_chunk(p, "tRNS", rest + rest_n, trns_n);
    put_idat(p, in->part[1], in->size[1]);
    put_chunk(p, "IEND", NULL, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) {
        uint8_t *copy = malloc(size);
        FUZZ_CHECK(copy != NULL);
        memcpy(copy, data, size);
        read_and_check(data, size, 0);
        fix_crcs(copy, size);
        read_and_check(copy, size, 1);
        free(copy);
    } else {
        fuzz_parts in;
        png_bytes p = {NULL, 0};
        fuzz_split(data, size, &in);
        build_from_parts(&in, &p);
        read_and_check(p.d, p.n, 2);
        free(p.d);
    }
    return 0;
}
