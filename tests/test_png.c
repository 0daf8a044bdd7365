/* PNG writer: small gray and RGB files checked byte by byte (signature,
 * IHDR, chunk CRCs, zlib header, stored blocks, Adler-32) against an
 * independent CRC-32 and Adler-32, block boundaries at exactly 65535 bytes,
 * and bad arguments or failed writes that leave no file behind. Files live
 * in a mkdtemp dir. */
#include "gradcheck.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_gray),
        cmocka_unit_test(test_small_rgb_exact_bytes),
        cmocka_unit_test(test_block_boundaries),
        cmocka_unit_test(test_overwrite),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_failed_writes_leave_no_file),
    };
    return TU_RUN_IN_DIR(tests, tmp_dir);
}
