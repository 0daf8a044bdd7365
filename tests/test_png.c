/* PNG writer: small gray and RGB files checked byte by byte (signature,
 * IHDR, chunk CRCs, zlib header, stored blocks, Adler-32) against an
 * independent CRC-32 and Adler-32, block boundaries at exactly 65535 bytes,
 * and bad arguments or failed writes that leave no file behind. Files live
 * in a mkdtemp dir. */
#include "gradcheck.h"
#include "nn/advanced.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp_dir[] = "/tmp/nn_test_png.XXXXXX";

/* Adler-32 straight from RFC 1950, one modulo per byte. */
static uint32_t adler32_plain(const unsigned char *p, size_t n)
{
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return b << 16 | a;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What a PNG file says, as far as these tests look. */
typedef struct {
    uint32_t width, height;
    int depth, color, compression, filter, interlace;
    unsigned char *zlib; /* all IDAT data, in order */
    size_t zlib_size;
} png_info;

/* Walks the chunks: signature, IHDR first, every CRC right, IDATs
 * collected, IEND last with nothing after it. */
static void parse_png(const unsigned char *d, size_t size, png_info *p)
{
    size_t pos = 8;
    int seen_end = 0, count = 0;
    memset(p, 0, sizeof *p);
    assert_true(size >= 8);
    assert_memory_equal(d, "\x89PNG\r\n\x1a\n", 8);
    while (pos < size) {
        uint32_t len;
        const unsigned char *type, *body;
        assert_false(seen_end);
        assert_true(size - pos >= 12);
        len = be32(d + pos);
        assert_true(len <= size - pos - 12);
        type = d + pos + 4;
        body = d + pos + 8;
        assert_int_equal(be32(body + len), tu_crc32(type, len + 4u));
        if (count++ == 0) {
            assert_memory_equal(type, "IHDR", 4);
            assert_int_equal(len, 13);
            p->width = be32(body);
            p->height = be32(body + 4);
            p->depth = body[8];
            p->color = body[9];
            p->compression = body[10];
            p->filter = body[11];
            p->interlace = body[12];
        } else if (!memcmp(type, "IDAT", 4)) {
            p->zlib = realloc(p->zlib, p->zlib_size + len + 1);
            assert_non_null(p->zlib);
            memcpy(p->zlib + p->zlib_size, body, len);
            p->zlib_size += len;
        } else if (!memcmp(type, "IEND", 4)) {
            assert_int_equal(len, 0);
            seen_end = 1;
        }
        pos += 12u + len;
    }
    assert_true(seen_end);
    assert_int_equal(pos, size);
}

/* Decodes a zlib stream of stored blocks only: header, every block's
 * BTYPE 00, LEN = ~NLEN, BFINAL exactly on the last one, and the Adler-32
 * of the data. Returns the data; *blocks counts them. */
static unsigned char *unstore(const unsigned char *z, size_t size,
                              size_t *out_size, int *blocks)
{
    unsigned char *out = malloc(size + 1);
    size_t pos = 2, n = 0;
    int final = 0;
    assert_non_null(out);
    assert_true(size >= 2 + 5 + 4);
    assert_int_equal(z[0] & 0x0f, 8);                 /* CM: deflate */
    assert_true((z[0] >> 4) <= 7);                    /* CINFO: window <= 32K */
    assert_int_equal((z[0] << 8 | z[1]) % 31, 0);     /* FCHECK */
    assert_int_equal(z[1] & 0x20, 0);                 /* no preset dictionary */
    *blocks = 0;
    while (!final) {
        uint32_t len, nlen;
        assert_true(size - pos >= 5 + 4);
        assert_int_equal(z[pos] & 0x06, 0);           /* BTYPE 00: stored */
        final = z[pos] & 1;
        len = z[pos + 1] | (uint32_t)z[pos + 2] << 8;
        nlen = z[pos + 3] | (uint32_t)z[pos + 4] << 8;
        assert_int_equal(len, ~nlen & 0xffffu);
        pos += 5;
        assert_true(len <= size - pos - 4);
        memcpy(out + n, z + pos, len);
        n += len;
        pos += len;
        ++*blocks;
    }
    assert_int_equal(size - pos, 4);
    assert_int_equal(be32(z + pos), adler32_plain(out, n));
    *out_size = n;
    return out;
}

/* Writes pixels as path and checks every byte of the result: the header
 * fields, and that the blocks hold exactly the rows, each after filter 0. */
static void check_round_trip(const char *name, const uint8_t *pixels,
                             int width, int height, int channels, int blocks)
{
    char msg[256];
    png_info p;
    size_t size, raw_size, row = 1 + (size_t)width * channels;
    int got_blocks;
    unsigned char *file, *raw;
    assert_int_equal(nn_png_write(tu_path(tmp_dir, name), pixels, width, height,
                                  channels, msg, sizeof msg), NN_OK);
    assert_string_equal(msg, "");
    file = tu_read_file(tu_path(tmp_dir, name), &size);
    parse_png(file, size, &p);
    assert_int_equal(p.width, width);
    assert_int_equal(p.height, height);
    assert_int_equal(p.depth, 8);
    assert_int_equal(p.color, channels == 3 ? 2 : 0);
    assert_int_equal(p.compression, 0);
    assert_int_equal(p.filter, 0);
    assert_int_equal(p.interlace, 0);
    raw = unstore(p.zlib, p.zlib_size, &raw_size, &got_blocks);
    assert_int_equal(got_blocks, blocks);
    assert_int_equal(raw_size, row * (size_t)height);
    for (int y = 0; y < height; y++) {
        assert_int_equal(raw[y * row], 0); /* filter type None */
        assert_memory_equal(raw + y * row + 1, pixels + y * (row - 1), row - 1);
    }
    free(raw);
    free(p.zlib);
    free(file);
}

/* width x height x channels bytes of a pattern that differs per byte. */
static uint8_t *pattern(int width, int height, int channels)
{
    size_t n = (size_t)width * height * channels;
    uint8_t *px = malloc(n);
    assert_non_null(px);
    for (size_t i = 0; i < n; i++)
        px[i] = (uint8_t)(i * 7 + i / 251);
    return px;
}

static void test_small_gray(void **state)
{
    static const uint8_t px[3][5] = {
        {0, 64, 128, 192, 255}, {255, 0, 255, 0, 255}, {1, 2, 3, 4, 5}};
    (void)state;
    check_round_trip("gray.png", &px[0][0], 5, 3, 1, 1);
}

/* A 2x1 RGB file, every byte written out by hand. */
static void test_small_rgb_exact_bytes(void **state)
{
    static const uint8_t px[6] = {255, 0, 0, 0, 128, 255};
    static const unsigned char ihdr[] = {0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0,
                                         0, 2, 0, 0, 0, 1, 8, 2, 0, 0, 0};
    static const unsigned char idat[] = {
        0, 0, 0, 18, 'I', 'D', 'A', 'T', 0x78, 0x01, /* zlib header */
        1, 7, 0, 0xf8, 0xff,                         /* final stored, 7 bytes */
        0, 255, 0, 0, 0, 128, 255};                  /* filter 0, the row */
    unsigned char *file;
    size_t size;
    uint32_t adler = adler32_plain(idat + 15, 7);
    (void)state;
    check_round_trip("rgb.png", px, 2, 1, 3, 1);
    file = tu_read_file(tu_path(tmp_dir, "rgb.png"), &size);
    assert_int_equal(size, 8 + 25 + 30 + 12);
    assert_memory_equal(file + 8, ihdr, sizeof ihdr);
    assert_memory_equal(file + 33, idat, sizeof idat);
    assert_int_equal(be32(file + 33 + sizeof idat), adler);
    assert_memory_equal(file + 33 + 30, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
    free(file);
}

/* Stored blocks hold at most 65535 bytes: 65535 raw bytes are one block,
 * 65536 are two, 72120 (an RGB 200x120) are two. */
static void test_block_boundaries(void **state)
{
    uint8_t *one = pattern(256, 255, 1);   /* rows of 257 bytes: 65535 */
    uint8_t *two = pattern(255, 256, 1);   /* rows of 256 bytes: 65536 */
    uint8_t *rgb = pattern(200, 120, 3);
    (void)state;
    check_round_trip("one_block.png", one, 256, 255, 1, 1);
    check_round_trip("two_blocks.png", two, 255, 256, 1, 2);
    check_round_trip("rgb_blocks.png", rgb, 200, 120, 3, 2);
    free(one);
    free(two);
    free(rgb);
}

/* Writing again replaces the file and leaves nothing else behind. */
static void test_overwrite(void **state)
{
    uint8_t a[4] = {1, 2, 3, 4}, b[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
    char dir[256];
    (void)state;
    snprintf(dir, sizeof dir, "%s", tu_path(tmp_dir, "over"));
    assert_int_equal(mkdir(dir, 0700), 0);
    check_round_trip("over/x.png", a, 2, 2, 1, 1);
    check_round_trip("over/x.png", b, 2, 2, 3, 1);
    assert_int_equal(tu_count_entries(dir, ""), 1);
}

static void test_bad_arguments(void **state)
{
    uint8_t px[12] = {0};
    char msg[256], dir[256];
    const char *path;
    (void)state;
    snprintf(dir, sizeof dir, "%s", tu_path(tmp_dir, "bad"));
    assert_int_equal(mkdir(dir, 0700), 0);
    path = tu_path(tmp_dir, "bad/x.png");
    assert_int_equal(nn_png_write(NULL, px, 2, 2, 1, msg, sizeof msg), NN_EINVAL);
    assert_non_null(strstr(msg, "no path"));
    assert_int_equal(nn_png_write(path, NULL, 2, 2, 1, msg, sizeof msg), NN_EINVAL);
    assert_non_null(strstr(msg, "no pixels"));
    assert_int_equal(nn_png_write(path, px, 0, 2, 1, msg, sizeof msg), NN_EINVAL);
    assert_non_null(strstr(msg, "positive"));
    assert_int_equal(nn_png_write(path, px, 2, 0, 1, NULL, 0), NN_EINVAL);
    assert_int_equal(nn_png_write(path, px, -2, 2, 1, NULL, 0), NN_EINVAL);
    assert_int_equal(nn_png_write(path, px, 2, -1, 3, NULL, 0), NN_EINVAL);
    for (int channels = 0; channels <= 4; channels += 2)
        assert_int_equal(nn_png_write(path, px, 2, 2, channels, msg, sizeof msg),
                         NN_EINVAL);
    assert_non_null(strstr(msg, "channels"));
    /* Too big for one IDAT chunk: refused before anything is allocated. */
    assert_int_equal(nn_png_write(path, px, INT_MAX, INT_MAX, 3, msg, sizeof msg),
                     NN_EOVERFLOW);
    assert_int_equal(nn_png_write(path, px, 65536, 65536, 1, NULL, 0),
                     NN_EOVERFLOW);
    assert_int_equal(tu_count_entries(dir, ""), 0);
}

static void test_failed_writes_leave_no_file(void **state)
{
    uint8_t *px = pattern(64, 64, 3), old[4] = {10, 20, 30, 40};
    unsigned char *before, *after;
    size_t before_size, after_size;
    struct rlimit saved, small;
    char msg[256], dir[256];
    (void)state;
    snprintf(dir, sizeof dir, "%s", tu_path(tmp_dir, "fail"));
    assert_int_equal(mkdir(dir, 0700), 0);

    /* A directory that does not exist. */
    assert_int_equal(nn_png_write(tu_path(tmp_dir, "fail/no/such/x.png"), px, 64, 64,
                                  3, msg, sizeof msg), NN_EIO);
    assert_non_null(strstr(msg, "fail/no/such/x.png"));
    assert_int_equal(tu_count_entries(dir, ""), 0);

    /* The target is a non-empty directory: the rename fails. */
    assert_int_equal(mkdir(tu_path(tmp_dir, "fail/taken"), 0700), 0);
    check_round_trip("fail/taken/inside.png", old, 2, 2, 1, 1);
    assert_int_equal(nn_png_write(tu_path(tmp_dir, "fail/taken"), px, 64, 64, 3, msg,
                                  sizeof msg), NN_EIO);
    assert_int_equal(tu_count_entries(dir, ""), 1);

    /* The write itself fails (a file-size limit, which binds root too):
     * the old file stays as it was and no temporary file is left. */
    check_round_trip("fail/x.png", old, 2, 2, 1, 1);
    before = tu_read_file(tu_path(tmp_dir, "fail/x.png"), &before_size);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    assert_int_equal(nn_png_write(tu_path(tmp_dir, "fail/x.png"), px, 64, 64, 3, msg,
                                  sizeof msg), NN_EIO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_non_null(strstr(msg, "write failed"));
    after = tu_read_file(tu_path(tmp_dir, "fail/x.png"), &after_size);
    assert_int_equal(after_size, before_size);
    assert_memory_equal(after, before, before_size);
    assert_int_equal(tu_count_entries(dir, ""), 2); /* taken/ and x.png */
    free(before);
    free(after);
    free(px);
}

/* ---------------------------------------------------------------- reader
 * nn_png_read on files made here by a small encoder of the tests' own
 * (every colour type and bit depth, each of the five filters, zlib streams
 * of stored blocks), on tests/fixtures/png_*.png (made by Python's zlib,
 * tests/png_fixtures.py), on files from nn_png_write, and on corrupt and
 * hostile files, each refused with a message. */

/* A PNG being put together: bytes appended, room grown as needed. */
typedef struct {
    unsigned char *d;
    size_t n;
} test_png;

static void tp_put(test_png *p, const void *src, size_t n)
{
    p->d = realloc(p->d, p->n + n + 1);
    assert_non_null(p->d);
    if (n > 0)
        memcpy(p->d + p->n, src, n);
    p->n += n;
}

static void tp_be32(test_png *p, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    tp_put(p, b, 4);
}

/* A chunk: length, type, body and the CRC-32 of type and body. */
static void tp_chunk(test_png *p, const char *type, const void *body, size_t n)
{
    unsigned char *typed = malloc(n + 4);
    assert_non_null(typed);
    memcpy(typed, type, 4);
    if (n > 0)
        memcpy(typed + 4, body, n);
    tp_be32(p, (uint32_t)n);
    tp_put(p, typed, n + 4);
    tp_be32(p, tu_crc32(typed, n + 4));
    free(typed);
}

/* The signature and an IHDR chunk. */
static void tp_start(test_png *p, uint32_t width, uint32_t height, int depth,
                     int color, int interlace)
{
    unsigned char ihdr[13] = {0};
    for (int i = 0; i < 4; i++) {
        ihdr[i] = (unsigned char)(width >> (24 - 8 * i));
        ihdr[4 + i] = (unsigned char)(height >> (24 - 8 * i));
    }
    ihdr[8] = (unsigned char)depth;
    ihdr[9] = (unsigned char)color;
    ihdr[12] = (unsigned char)interlace;
    p->d = NULL;
    p->n = 0;
    tp_put(p, "\x89PNG\r\n\x1a\n", 8);
    tp_chunk(p, "IHDR", ihdr, sizeof ihdr);
}

/* A zlib stream of stored blocks (at most 65535 bytes each) holding
 * raw, with its Adler-32. */
static void tp_zlib(test_png *z, const unsigned char *raw, size_t n)
{
    size_t done = 0;
    uint32_t adler = adler32_plain(raw, n);
    z->d = NULL;
    z->n = 0;
    tp_put(z, "\x78\x01", 2);
    do {
        size_t len = n - done < 65535 ? n - done : 65535;
        unsigned char head[5] = {(unsigned char)(done + len == n), (unsigned char)len,
                                 (unsigned char)(len >> 8), (unsigned char)~len,
                                 (unsigned char)(~len >> 8)};
        tp_put(z, head, 5);
        tp_put(z, raw + done, len);
        done += len;
    } while (done < n);
    tp_be32(z, adler);
}

/* raw in one IDAT chunk, then IEND. */
static void tp_finish(test_png *p, const unsigned char *raw, size_t n)
{
    test_png z;
    tp_zlib(&z, raw, n);
    tp_chunk(p, "IDAT", z.d, z.n);
    tp_chunk(p, "IEND", NULL, 0);
    free(z.d);
}

/* The test pattern, as in tests/png_fixtures.py: neighbours differ. With
 * noise, a hash of the place instead, so that every case of the Paeth
 * predictor (ties included) comes up. */
static unsigned pattern_value(int x, int y, int k, int depth, int noise)
{
    unsigned v = (unsigned)(x * 3 + y * 5 + k * 7 + x * y);
    if (noise) {
        uint32_t hash = (uint32_t)x * 73856093u ^ (uint32_t)y * 19349663u ^
                        (uint32_t)k * 83492791u;
        hash *= 2654435761u;
        return (hash >> 8) % (depth == 16 ? 65536u : 1u << depth);
    }
    return depth == 16 ? (v * 4099u + (unsigned)k * 1000u) % 65536u
                       : v % (1u << depth);
}

/* The tests' own idea of the conversions: samples to 8 bits, and a
 * value seen through alpha over black. */
static unsigned expect8(unsigned v, int depth)
{
    return depth == 16 ? (unsigned)((v * 255.0 / 65535.0) + 0.5)
                       : v * 255u / ((1u << depth) - 1u);
}

static unsigned expect_over_black(unsigned v, unsigned a)
{
    return (unsigned)(v * a / 255.0 + 0.5);
}

static int paeth_predictor(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Codes row (n bytes) with filter kind against prev (NULL: the first). */
static void filter_row(int kind, const unsigned char *row,
                       const unsigned char *prev, size_t n, size_t bpp,
                       unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int a = i >= bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0;
        int c = prev && i >= bpp ? prev[i - bpp] : 0;
        int pred[5] = {0, a, b, (a + b) / 2, paeth_predictor(a, b, c)};
        out[i] = (unsigned char)(row[i] - pred[kind]);
    }
}

/* An image for the reader: colour type, depth, size, filters. */
typedef struct {
    int color, depth, width, height;
    int filter;       /* 0..4 on every row; 5: row y gets y % 5 */
    int palette_size; /* palette images: this many colours */
    int grey_palette; /* palette images: colours r = g = b */
    int noise;        /* samples from a hash, not the smooth pattern */
} image_spec;

static const int samples_of[7] = {1, 0, 3, 1, 2, 0, 4};

/* The pixels nn_png_read should return for s (channels in *channels). */
static uint8_t *expected_pixels(const image_spec *s, int *channels)
{
    int n = samples_of[s->color];
    uint8_t *px;
    size_t i = 0;
    *channels = s->color == 2 || s->color == 6 ||
                (s->color == 3 && !s->grey_palette) ? 3 : 1;
    px = malloc((size_t)s->width * s->height * *channels);
    assert_non_null(px);
    for (int y = 0; y < s->height; y++)
        for (int x = 0; x < s->width; x++) {
            unsigned v[4];
            for (int k = 0; k < n; k++)
                v[k] = pattern_value(x, y, k, s->depth, s->noise);
            if (s->color == 3) {
                unsigned index = v[0] % (unsigned)s->palette_size;
                px[i++] = (uint8_t)(index * 20);
                if (*channels == 3) {
                    px[i++] = (uint8_t)(255 - index * 20);
                    px[i++] = (uint8_t)(index * 77);
                }
                continue;
            }
            for (int k = 0; k < *channels; k++) {
                unsigned a = s->color == 4 || s->color == 6
                                 ? expect8(v[n - 1], s->depth) : 255;
                px[i++] = (uint8_t)expect_over_black(expect8(v[k], s->depth), a);
            }
        }
    return px;
}

/* The PNG of s, filtered as it says, in *p. */
static void make_png(const image_spec *s, test_png *p)
{
    int n = samples_of[s->color];
    size_t row_bytes = ((size_t)s->width * n * s->depth + 7) / 8;
    size_t bpp = (size_t)(n * s->depth + 7) / 8, stride = row_bytes + 1;
    unsigned char *rows = calloc((size_t)s->height, row_bytes);
    unsigned char *raw = malloc(stride * s->height);
    assert_non_null(rows);
    assert_non_null(raw);
    for (int y = 0; y < s->height; y++) {
        unsigned char *row = rows + y * row_bytes;
        for (int x = 0; x < s->width; x++)
            for (int k = 0; k < n; k++) {
                size_t i = (size_t)x * n + k;
                unsigned v = pattern_value(x, y, k, s->depth, s->noise);
                if (s->color == 3)
                    v %= (unsigned)s->palette_size;
                if (s->depth == 16) {
                    row[2 * i] = (unsigned char)(v >> 8);
                    row[2 * i + 1] = (unsigned char)v;
                } else if (s->depth == 8) {
                    row[i] = (unsigned char)v;
                } else {
                    size_t bit = i * s->depth;
                    row[bit / 8] |= (unsigned char)(v << (8 - s->depth - bit % 8));
                }
            }
        raw[y * stride] = (unsigned char)(s->filter < 5 ? s->filter : y % 5);
        filter_row(raw[y * stride], row, y ? row - row_bytes : NULL, row_bytes,
                   bpp, raw + y * stride + 1);
    }
    tp_start(p, (uint32_t)s->width, (uint32_t)s->height, s->depth, s->color, 0);
    if (s->color == 3) {
        unsigned char plte[3 * 256];
        for (int i = 0; i < s->palette_size; i++) {
            plte[3 * i] = (unsigned char)(i * 20);
            plte[3 * i + 1] = (unsigned char)(s->grey_palette ? i * 20 : 255 - i * 20);
            plte[3 * i + 2] = (unsigned char)(s->grey_palette ? i * 20 : i * 77);
        }
        tp_chunk(p, "PLTE", plte, 3 * (size_t)s->palette_size);
    }
    tp_finish(p, raw, stride * s->height);
    free(rows);
    free(raw);
}

/* Writes data as tmp/name and reads it back. On failure the outputs must
 * be empty and the message must name the file. */
static nn_status read_png_bytes(const char *name, const unsigned char *data,
                                size_t n, uint8_t **px, int *w, int *h, int *c,
                                char *msg, size_t msg_size)
{
    char path[256];
    nn_status st;
    snprintf(path, sizeof path, "%s", tu_path(tmp_dir, name));
    tu_write_file(path, data, n);
    st = nn_png_read(path, px, w, h, c, msg, msg_size);
    if (st != NN_OK) {
        assert_null(*px);
        assert_int_equal(*w + *h + *c, 0);
        assert_non_null(strstr(msg, path));
    }
    return st;
}

/* Reads p and compares it with what s should give. */
static void check_decodes(const image_spec *s, const test_png *p)
{
    uint8_t *px = NULL, *want;
    int w, h, c, want_c;
    char msg[512];
    nn_status st = read_png_bytes("made.png", p->d, p->n, &px, &w, &h, &c, msg,
                                  sizeof msg);
    if (st != NN_OK)
        print_message("colour %d depth %d %dx%d filter %d: %s\n", s->color,
                      s->depth, s->width, s->height, s->filter, msg);
    assert_int_equal(st, NN_OK);
    want = expected_pixels(s, &want_c);
    assert_int_equal(w, s->width);
    assert_int_equal(h, s->height);
    assert_int_equal(c, want_c);
    assert_memory_equal(px, want, (size_t)w * h * c);
    free(want);
    free(px);
}

/* Every colour type with every depth it allows, odd widths (partial bytes
 * at the end of a row), each filter on every row (the first row too, with
 * nothing above it) and all five in turn; the widest images are noise. */
static void test_read_every_type_depth_filter(void **state)
{
    static const int types[][2] = {{0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16},
                                   {2, 8}, {2, 16}, {3, 1}, {3, 2}, {3, 4},
                                   {3, 8}, {4, 8}, {4, 16}, {6, 8}, {6, 16}};
    static const int widths[] = {1, 3, 7, 13, 40};
    (void)state;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
            for (int filter = 0; filter <= 5; filter++) {
                image_spec s = {types[t][0], types[t][1], widths[wi],
                                widths[wi] == 40 ? 30 : 6, filter, 0, 0,
                                widths[wi] == 40};
                test_png p;
                if (s.color == 3)
                    s.palette_size = s.depth == 1 ? 2 : s.depth == 2 ? 3 : 12;
                make_png(&s, &p);
                check_decodes(&s, &p);
                free(p.d);
            }
}

/* A palette of greys gives one channel. */
static void test_read_grey_palette(void **state)
{
    image_spec s = {3, 8, 9, 4, 5, 12, 1, 0};
    test_png p;
    (void)state;
    make_png(&s, &p);
    check_decodes(&s, &p);
    free(p.d);
}

/* tests/fixtures/png_*.png, made by Python's zlib (Huffman-coded DEFLATE,
 * IDAT split over chunks with an empty one between, ancillary chunks,
 * tRNS), against the pixels tests/png_fixtures.py worked out. */
static void test_read_python_fixtures(void **state)
{
    tu_fixture f;
    (void)state;
    assert_int_equal(tu_fixture_load(&f, "png_expected.txt"), 0);
    assert_true(f.count >= 9);
    for (int i = 0; i < f.count; i++) {
        const tu_fixture_entry *e = &f.entries[i];
        char path[1024], name[64], msg[512];
        const char *root = getenv("NN_SOURCE_DIR");
        uint8_t *px = NULL;
        int w, h, c;
        snprintf(name, sizeof name, "%s.png", e->name);
        snprintf(path, sizeof path, "%s/tests/fixtures/%s", root ? root : ".", name);
        if (nn_png_read(path, &px, &w, &h, &c, msg, sizeof msg) != NN_OK)
            fail_msg("%s", msg);
        assert_int_equal(w, (int)e->values[0]);
        assert_int_equal(h, (int)e->values[1]);
        assert_int_equal(c, (int)e->values[2]);
        assert_int_equal(e->count, 3 + w * h * c);
        for (int k = 0; k < w * h * c; k++)
            if (px[k] != (uint8_t)e->values[3 + k])
                fail_msg("%s: byte %d is %d, expected %d", name, k, px[k],
                         (int)e->values[3 + k]);
        free(px);
    }
    tu_fixture_free(&f);
}

/* What nn_png_write writes, nn_png_read reads back the same: grey and
 * RGB, odd sizes, and one over two stored blocks. */
static void test_read_round_trip(void **state)
{
    static const int sizes[][2] = {{1, 1}, {3, 2}, {7, 5}, {28, 28}, {33, 17},
                                   {255, 256}};
    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int channels = 1; channels <= 3; channels += 2) {
            int width = sizes[i][0], height = sizes[i][1], w, h, c;
            uint8_t *px = pattern(width, height, channels), *back = NULL;
            char msg[256];
            assert_int_equal(nn_png_write(tu_path(tmp_dir, "trip.png"), px,
                                          width, height, channels, msg,
                                          sizeof msg), NN_OK);
            assert_int_equal(nn_png_read(tu_path(tmp_dir, "trip.png"), &back, &w,
                                         &h, &c, msg, sizeof msg), NN_OK);
            assert_string_equal(msg, "");
            assert_int_equal(w, width);
            assert_int_equal(h, height);
            assert_int_equal(c, channels);
            assert_memory_equal(back, px, (size_t)width * height * channels);
            free(px);
            free(back);
        }
}

/* tRNS: a grey or RGB colour key makes those pixels black, palette
 * entries are composited with their alpha. */
static void test_read_transparency(void **state)
{
    static const unsigned char grey_row[] = {0, 10, 20, 30}; /* filter + 3 */
    static const unsigned char rgb_row[] = {0, 1, 2, 3, 4, 5, 6};
    static const unsigned char plte[] = {255, 255, 255, 200, 100, 50};
    static const unsigned char pal_row[] = {0, 0, 1};
    static const unsigned char key20[] = {0, 20}, key456[] = {0, 4, 0, 5, 0, 6};
    static const unsigned char alpha[] = {0};
    test_png p;
    uint8_t *px = NULL;
    int w, h, c;
    char msg[256];
    (void)state;
    tp_start(&p, 3, 1, 8, 0, 0);
    tp_chunk(&p, "tRNS", key20, 2);
    tp_finish(&p, grey_row, sizeof grey_row);
    assert_int_equal(read_png_bytes("key.png", p.d, p.n, &px, &w, &h, &c, msg,
                                    sizeof msg), NN_OK);
    assert_int_equal(c, 1);
    assert_memory_equal(px, "\x0a\x00\x1e", 3);
    free(px);
    free(p.d);
    tp_start(&p, 2, 1, 8, 2, 0);
    tp_chunk(&p, "tRNS", key456, 6);
    tp_finish(&p, rgb_row, sizeof rgb_row);
    assert_int_equal(read_png_bytes("key.png", p.d, p.n, &px, &w, &h, &c, msg,
                                    sizeof msg), NN_OK);
    assert_memory_equal(px, "\x01\x02\x03\x00\x00\x00", 6);
    free(px);
    free(p.d);
    tp_start(&p, 2, 1, 8, 3, 0);
    tp_chunk(&p, "PLTE", plte, sizeof plte);
    tp_chunk(&p, "tRNS", alpha, 1); /* entry 0 clear, entry 1 opaque */
    tp_finish(&p, pal_row, sizeof pal_row);
    assert_int_equal(read_png_bytes("key.png", p.d, p.n, &px, &w, &h, &c, msg,
                                    sizeof msg), NN_OK);
    assert_int_equal(c, 3);
    assert_memory_equal(px, "\x00\x00\x00\xc8\x64\x32", 6);
    free(px);
    free(p.d);
}

/* A valid 5x4 RGB file for the hostile tests to spoil. */
static void base_png(test_png *p)
{
    image_spec s = {2, 8, 5, 4, 5, 0, 0, 0};
    make_png(&s, p);
}

/* Offsets of the chunks of a well-formed file (up to 16), in *count. */
static void chunk_offsets(const test_png *p, size_t *at, int *count)
{
    size_t pos = 8;
    *count = 0;
    while (pos < p->n && *count < 16) {
        at[(*count)++] = pos;
        pos += 12 + be32(p->d + pos);
    }
}

/* Expects data to be refused with status and a message containing why. */
static void expect_refused(const char *what, const unsigned char *data,
                           size_t n, nn_status status, const char *why)
{
    uint8_t *px = (uint8_t *)"";
    int w = 1, h = 1, c = 1;
    char msg[512] = "";
    nn_status st = read_png_bytes("bad.png", data, n, &px, &w, &h, &c, msg,
                                  sizeof msg);
    if (st != status || !strstr(msg, why))
        fail_msg("%s: status %d '%s', expected %d and '%s'", what, (int)st, msg,
                 (int)status, why);
}

/* A bit flipped in any chunk's data or CRC: a CRC mismatch. */
static void test_read_bad_crc(void **state)
{
    test_png p;
    size_t at[16];
    int count;
    (void)state;
    base_png(&p);
    chunk_offsets(&p, at, &count);
    assert_int_equal(count, 3);
    for (int i = 0; i < count; i++) {
        size_t length = be32(p.d + at[i]);
        size_t spots[2] = {at[i] + 8 + length, at[i] + 8}; /* CRC, data */
        for (int k = 0; k < 2; k++) {
            if (k == 1 && length == 0)
                continue;
            p.d[spots[k]] ^= 0x10;
            expect_refused("flipped bit", p.d, p.n, NN_EFORMAT, "CRC-32 mismatch");
            p.d[spots[k]] ^= 0x10;
        }
    }
    free(p.d);
}

/* Every prefix of a file, and the file with bytes after IEND, is refused:
 * "not a PNG" within the signature, "truncated" after it. */
static void test_read_truncated_everywhere(void **state)
{
    test_png p;
    (void)state;
    base_png(&p);
    for (size_t n = 0; n < p.n; n++)
        expect_refused("prefix", p.d, n, NN_EFORMAT,
                       n < 8 ? "not a PNG file" : "truncated");
    tp_put(&p, "x", 1);
    expect_refused("trailing byte", p.d, p.n, NN_EFORMAT, "1 bytes after the IEND");
    free(p.d);
}

/* A file to refuse: a header, an optional chunk before the data, the
 * rows (stored in one IDAT), and the status and message expected. */
typedef struct {
    const char *what;
    uint32_t width, height;
    int depth, color, interlace;
    const char *chunk; /* NULL: none */
    const unsigned char *body;
    size_t body_size;
    const unsigned char *rows;
    size_t rows_size;
    nn_status status;
    const char *why;
} bad_case;

static void check_bad_cases(const bad_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const bad_case *c = &cases[i];
        test_png p;
        tp_start(&p, c->width, c->height, c->depth, c->color, c->interlace);
        if (c->chunk)
            tp_chunk(&p, c->chunk, c->body, c->body_size);
        tp_finish(&p, c->rows, c->rows_size);
        expect_refused(c->what, p.d, p.n, c->status, c->why);
        free(p.d);
    }
}

/* Huge sides are refused from IHDR alone; sides within the bound whose
 * data would take more than 1 GiB too; and a file claiming 16384x16384
 * RGB (805 MB) with 10 bytes of data is refused for its data without
 * ever allocating for the image: the child process that reads it has an
 * address space of 512 MiB (not under the sanitizers, which reserve
 * terabytes of it). */
static void test_read_huge_dimensions(void **state)
{
    static const unsigned char ten[10] = {0};
    static const bad_case cases[] = {
        {"100000x100000", 100000, 100000, 8, 0, 0, NULL, NULL, 0, ten, 10,
         NN_EOVERFLOW, "more than 16384 on a side"},
        {"2^31-1 wide", 0x7fffffffu, 1, 8, 0, 0, NULL, NULL, 0, ten, 10,
         NN_EOVERFLOW, "more than 16384 on a side"},
        {"2^31 wide", 0x80000000u, 1, 8, 0, 0, NULL, NULL, 0, ten, 10,
         NN_EFORMAT, "from 1 to 2^31-1"},
        {"16384^2 RGBA16", 16384, 16384, 16, 6, 0, NULL, NULL, 0, ten, 10,
         NN_EOVERFLOW, "bytes of image data"},
        {"16384^2 RGB", 16384, 16384, 8, 2, 0, NULL, NULL, 0, ten, 10,
         NN_EFORMAT, "inflates to 10 bytes"}, /* the last: bad.png */
    };
    pid_t child;
    int status;
    (void)state;
    check_bad_cases(cases, sizeof cases / sizeof cases[0]);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct rlimit limit = {512u << 20, 512u << 20};
        uint8_t *px;
        int w, h, c;
        setrlimit(RLIMIT_AS, &limit);
        _exit(nn_png_read(tu_path(tmp_dir, "bad.png"), &px, &w, &h, &c, NULL, 0));
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), NN_EFORMAT);
#else
    (void)child;
    (void)status;
#endif
}

/* Reads a file that must decode to the three grey pixels 1, 2, 3. */
static void expect_one_two_three(const test_png *p)
{
    uint8_t *px = NULL;
    int w, h, c;
    char msg[256];
    assert_int_equal(read_png_bytes("ok.png", p->d, p->n, &px, &w, &h, &c, msg,
                                    sizeof msg), NN_OK);
    assert_int_equal(w * h * c, 3);
    assert_memory_equal(px, "\x01\x02\x03", 3);
    free(px);
}

/* Files that break a rule of the format, each with its message; and
 * what the rules allow: unknown ancillary chunks, an empty IDAT between
 * others. */
static void test_read_malformed(void **state)
{
    static const unsigned char row3[] = {0, 1, 2, 3}, bad_filter[] = {5, 1, 2, 3};
    static const unsigned char plte2[] = {1, 2, 3, 4, 5, 6}, index2[] = {0, 0x12};
    static const unsigned char two[2] = {0, 0}, header_only[] = {0x78, 0x01};
    static const unsigned char rows15[3 * (1 + 4) + 1] = {0};
    static const bad_case cases[] = {
        {"interlaced", 3, 1, 8, 0, 1, NULL, NULL, 0, row3, 4, NN_EFORMAT,
         "Adam7-interlaced PNGs are not read"},
        {"critical", 3, 1, 8, 0, 0, "ABCD", two, 2, row3, 4, NN_EFORMAT,
         "unknown critical chunk 'ABCD'"},
        {"index", 2, 1, 4, 3, 0, "PLTE", plte2, 6, index2, 2, NN_EFORMAT,
         "pixel (1, 0) has palette index 2; the palette has 2 colours"},
        {"no PLTE", 2, 1, 4, 3, 0, NULL, NULL, 0, index2, 2, NN_EFORMAT,
         "without a PLTE chunk"},
        {"grey PLTE", 3, 1, 8, 0, 0, "PLTE", plte2, 6, row3, 4, NN_EFORMAT,
         "a PLTE chunk in a grey image"},
        {"tRNS size", 3, 1, 8, 0, 0, "tRNS", plte2, 6, row3, 4, NN_EFORMAT,
         "tRNS chunk of 6 bytes in a grey image"},
        {"IHDR twice", 3, 1, 8, 0, 0, "IHDR", rows15, 13, row3, 4, NN_EFORMAT,
         "a second IHDR chunk"},
        {"filter 5", 3, 1, 8, 0, 0, NULL, NULL, 0, bad_filter, 4, NN_EFORMAT,
         "row 0: unknown filter type 5"},
        {"depth 3", 3, 1, 3, 0, 0, NULL, NULL, 0, row3, 4, NN_EFORMAT,
         "bit depth 3 is not allowed for grey"},
        {"RGB depth 4", 3, 1, 4, 2, 0, NULL, NULL, 0, row3, 4, NN_EFORMAT,
         "bit depth 4 is not allowed for RGB"},
        {"colour 5", 3, 1, 8, 5, 0, NULL, NULL, 0, row3, 4, NN_EFORMAT,
         "colour type 5: not a PNG colour type"},
        {"width 0", 0, 1, 8, 0, 0, NULL, NULL, 0, row3, 4, NN_EFORMAT,
         "each side must be from 1"},
        /* The data one byte short, one byte long: both sizes named. */
        {"short", 4, 3, 8, 0, 0, NULL, NULL, 0, rows15, 14, NN_EFORMAT,
         "inflates to 14 bytes, 4x3 8-bit grey pixels take 15"},
        {"long", 4, 3, 8, 0, 0, NULL, NULL, 0, rows15, 16, NN_EFORMAT,
         "inflates to more than the 15 bytes"},
    };
    test_png p, z;
    (void)state;
    check_bad_cases(cases, sizeof cases / sizeof cases[0]);

    tp_start(&p, 3, 1, 8, 0, 0); /* an unknown ancillary chunk is skipped */
    tp_chunk(&p, "abCD", two, 2);
    tp_finish(&p, row3, sizeof row3);
    expect_one_two_three(&p);
    free(p.d);

    tp_zlib(&z, row3, sizeof row3);
    tp_start(&p, 3, 1, 8, 0, 0); /* an empty IDAT between two halves */
    tp_chunk(&p, "IDAT", z.d, 5);
    tp_chunk(&p, "IDAT", NULL, 0);
    tp_chunk(&p, "IDAT", z.d + 5, z.n - 5);
    tp_chunk(&p, "IEND", NULL, 0);
    expect_one_two_three(&p);
    free(p.d);

    tp_start(&p, 3, 1, 8, 0, 0); /* IDAT, another chunk, IDAT */
    tp_chunk(&p, "IDAT", z.d, 5);
    tp_chunk(&p, "teXt", two, 2);
    tp_chunk(&p, "IDAT", z.d + 5, z.n - 5);
    tp_chunk(&p, "IEND", NULL, 0);
    expect_refused("split IDAT", p.d, p.n, NN_EFORMAT, "IDAT chunks that do not follow");
    free(p.d);

    z.d[z.n - 1] ^= 1; /* the Adler-32 off by one */
    tp_start(&p, 3, 1, 8, 0, 0);
    tp_chunk(&p, "IDAT", z.d, z.n);
    tp_chunk(&p, "IEND", NULL, 0);
    expect_refused("adler", p.d, p.n, NN_EFORMAT, "image data: Adler-32 mismatch");
    free(p.d);
    free(z.d);

    tp_start(&p, 3, 1, 8, 0, 0); /* the only IDAT is empty */
    tp_chunk(&p, "IDAT", NULL, 0);
    tp_chunk(&p, "IEND", NULL, 0);
    expect_refused("empty IDAT", p.d, p.n, NN_EFORMAT, "image data: truncated zlib header");
    free(p.d);

    tp_start(&p, 3, 1, 8, 0, 0); /* a zlib header and nothing else */
    tp_chunk(&p, "IDAT", header_only, 2);
    tp_chunk(&p, "IEND", NULL, 0);
    expect_refused("no deflate", p.d, p.n, NN_EFORMAT, "image data: truncated deflate stream");
    free(p.d);

    tp_start(&p, 3, 1, 8, 0, 0); /* IEND first */
    tp_chunk(&p, "IEND", NULL, 0);
    expect_refused("no IDAT", p.d, p.n, NN_EFORMAT, "no IDAT chunk");
    free(p.d);

    p.d = NULL;
    p.n = 0;
    tp_put(&p, "\x89PNG\r\n\x1a\n", 8);
    tp_chunk(&p, "IDAT", two, 2);
    expect_refused("IHDR not first", p.d, p.n, NN_EFORMAT, "the first chunk is 'IDAT', not IHDR");
    free(p.d);

    expect_refused("a PPM", (const unsigned char *)"P6\n1 1\n255\n\0\0\0", 14,
                   NN_EFORMAT, "not a PNG file");
}

/* A FIFO, a directory and a device are refused before a byte is read,
 * as by every loader (nn_read_file). */
static void test_read_special_files(void **state)
{
    char fifo[256], msg[256];
    uint8_t *px = NULL;
    int w, h, c;
    (void)state;
    snprintf(fifo, sizeof fifo, "%s", tu_path(tmp_dir, "fifo.png"));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(nn_png_read(fifo, &px, &w, &h, &c, msg, sizeof msg), NN_EIO);
    assert_non_null(strstr(msg, "is a FIFO, not a regular file"));
    assert_int_equal(nn_png_read(tmp_dir, &px, &w, &h, &c, msg, sizeof msg), NN_EIO);
    assert_non_null(strstr(msg, "is a directory"));
    assert_int_equal(nn_png_read("/dev/zero", &px, &w, &h, &c, msg, sizeof msg), NN_EIO);
    assert_non_null(strstr(msg, "is a device"));
    assert_null(px);
    assert_int_equal(nn_png_read(NULL, &px, &w, &h, &c, msg, sizeof msg), NN_EINVAL);
    assert_int_equal(nn_png_read(fifo, NULL, &w, &h, &c, msg, sizeof msg), NN_EINVAL);
    remove(fifo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_gray),
        cmocka_unit_test(test_small_rgb_exact_bytes),
        cmocka_unit_test(test_block_boundaries),
        cmocka_unit_test(test_overwrite),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_failed_writes_leave_no_file),
        cmocka_unit_test(test_read_every_type_depth_filter),
        cmocka_unit_test(test_read_grey_palette),
        cmocka_unit_test(test_read_python_fixtures),
        cmocka_unit_test(test_read_round_trip),
        cmocka_unit_test(test_read_transparency),
        cmocka_unit_test(test_read_bad_crc),
        cmocka_unit_test(test_read_truncated_everywhere),
        cmocka_unit_test(test_read_huge_dimensions),
        cmocka_unit_test(test_read_malformed),
        cmocka_unit_test(test_read_special_files),
    };
    return TU_RUN_IN_DIR(tests, tmp_dir);
}
