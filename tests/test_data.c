/* The data module: gzip decoding, IDX and CIFAR-10 loaders, batches.
 *
 * Every file is written by the tests themselves into a fresh temporary
 * directory: valid ones, truncated ones, bad magic numbers, absurd sizes,
 * bad labels, corrupt gzip streams, FIFOs and directories in place of
 * files. Real Fashion-MNIST files are loaded too when the Debian package
 * dataset-fashion-mnist is installed. */
#include "gradcheck.h"
#include "data/data.h"
#include "io/io.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char temp_dir[64];

/* ------------------------------------------------------------- helpers */

/* Bitwise CRC-32 (reflected 0xEDB88320), independent of the library's. */
static uint32_t ref_crc32(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* temp_dir/name into path. */
static void temp_path(const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", temp_dir, name);
}

/* Writes bytes to temp_dir/name and returns the full path in path. */
static void write_file(const char *name, const void *data, size_t size,
                       char *path, size_t path_size)
{
    FILE *f;
    temp_path(name, path, path_size);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

/* A gzip file holding plain in stored (uncompressed) DEFLATE blocks of at
 * most 65535 bytes, with a CRC computed here. */
static unsigned char *make_stored_gzip(const unsigned char *plain, size_t n,
                                       size_t *out_size)
{
    size_t blocks = n / 65535 + 1, pos = 0, i;
    unsigned char *gz = malloc(10 + n + 5 * blocks + 8), *p;
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    assert_non_null(gz);
    memcpy(gz, header, 10);
    p = gz + 10;
    for (i = 0; i < blocks; i++) {
        size_t len = n - pos < 65535 ? n - pos : 65535;
        p[0] = i + 1 == blocks; /* BFINAL, BTYPE 00 */
        p[1] = (unsigned char)len;
        p[2] = (unsigned char)(len >> 8);
        p[3] = (unsigned char)~len;
        p[4] = (unsigned char)(~len >> 8);
        memcpy(p + 5, plain + pos, len);
        p += 5 + len;
        pos += len;
    }
    put_le32(p, ref_crc32(plain, n));
    put_le32(p + 4, (uint32_t)n);
    *out_size = (size_t)(p + 8 - gz);
    return gz;
}

/* An IDX image file: count images of h x w, pixel (i, k) = 7 i + k. */
static unsigned char *make_images(uint32_t count, uint32_t h, uint32_t w,
                                  size_t *size)
{
    size_t pixels = (size_t)count * h * w, k;
    unsigned char *f = malloc(16 + pixels);
    assert_non_null(f);
    put_be32(f, 0x00000803);
    put_be32(f + 4, count);
    put_be32(f + 8, h);
    put_be32(f + 12, w);
    for (k = 0; k < pixels; k++)
        f[16 + k] = (unsigned char)(7 * (k / ((size_t)h * w)) + k % ((size_t)h * w));
    *size = 16 + pixels;
    return f;
}

/* An IDX label file: label i = (3 i + 1) mod 10. */
static unsigned char *make_labels(uint32_t count, size_t *size)
{
    unsigned char *f = malloc(8 + (size_t)count);
    uint32_t i;
    assert_non_null(f);
    put_be32(f, 0x00000801);
    put_be32(f + 4, count);
    for (i = 0; i < count; i++)
        f[8 + i] = (unsigned char)((3 * i + 1) % 10);
    *size = 8 + (size_t)count;
    return f;
}

/* Writes an image file and a label file under the given names. */
static void write_mnist(const char *images_name, uint32_t images,
                        const char *labels_name, uint32_t labels,
                        char *images_path, char *labels_path, size_t size)
{
    size_t n;
    unsigned char *f = make_images(images, 4, 5, &n);
    write_file(images_name, f, n, images_path, size);
    free(f);
    f = make_labels(labels, &n);
    write_file(labels_name, f, n, labels_path, size);
    free(f);
}

/* Asserts that a failed load left the dataset empty and wrote a message
 * containing `expected`. */
static void assert_refused(const nn_dataset *d, const char *msg,
                           const char *expected)
{
    assert_null(d->pixels);
    assert_null(d->labels);
    assert_int_equal(d->count, 0);
    if (!strstr(msg, expected))
        fail_msg("message \"%s\" does not mention \"%s\"", msg, expected);
}

/* Creates temp_dir/name as a directory and returns its path. */
static void make_subdir(const char *name, char *path, size_t size)
{
    temp_path(name, path, size);
    assert_int_equal(mkdir(path, 0700), 0);
}

/* Removes a directory and everything in it. */
static int remove_tree(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *entry;
    char child[512];
    struct stat info;
    if (!dir)
        return -1;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        if (lstat(child, &info) == 0 && S_ISDIR(info.st_mode))
            remove_tree(child);
        else
            unlink(child);
    }
    closedir(dir);
    return rmdir(path);
}

/* Group setup and teardown: a private temporary directory, removed with
 * its contents at the end. */
static int make_temp_dir(void **state)
{
    (void)state;
    strcpy(temp_dir, "/tmp/nn_test_data_XXXXXX");
    return mkdtemp(temp_dir) ? 0 : -1;
}

static int remove_temp_dir(void **state)
{
    (void)state;
    return remove_tree(temp_dir);
}

/* ------------------------------------------------------- gzip test data */

/* "Hello, hello, hello! ..." compressed by Python's zlib with Z_FIXED:
 * one fixed-Huffman block (BTYPE 01). */
static const char fixed_plain[] =
    "Hello, hello, hello! DEFLATE with fixed Huffman codes.\n";
static const unsigned char fixed_gz[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xf3, 0x48,
    0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0xc8, 0x40, 0xa2, 0x14, 0x15, 0x5c, 0x5c,
    0xdd, 0x7c, 0x1c, 0x43, 0x5c, 0x15, 0xca, 0x33, 0x4b, 0x32, 0x14, 0xd2,
    0x32, 0x2b, 0x52, 0x53, 0x14, 0x3c, 0x4a, 0xd3, 0xd2, 0x72, 0x13, 0xf3,
    0x14, 0x92, 0xf3, 0x53, 0x52, 0x8b, 0xf5, 0xb8, 0x00, 0x52, 0x97, 0x4f,
    0x1d, 0x37, 0x00, 0x00, 0x00};

/* dynamic_plain() compressed by `gzip -9 -n`: one dynamic-Huffman block
 * (BTYPE 10) with back-references. */
static const unsigned char dynamic_gz[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xb5, 0xcc,
    0xcb, 0x15, 0x40, 0x30, 0x14, 0x84, 0xe1, 0xbd, 0x2a, 0xa6, 0x02, 0xc7,
    0x73, 0x43, 0x35, 0x41, 0x42, 0x3c, 0x72, 0x09, 0x49, 0x50, 0xbd, 0x1c,
    0x3d, 0xdc, 0xf5, 0xfc, 0xf3, 0x65, 0x0d, 0xae, 0x49, 0xe2, 0x70, 0xba,
    0x5f, 0xd0, 0x59, 0x0a, 0x06, 0x8a, 0x6e, 0xcc, 0x6e, 0xdb, 0x4f, 0x90,
    0x97, 0xf6, 0x9f, 0x57, 0xf1, 0x3e, 0x18, 0x68, 0x6c, 0xb1, 0x8b, 0xd8,
    0x6d, 0x0f, 0xba, 0x18, 0x05, 0x7d, 0x4d, 0x50, 0xda, 0xcb, 0x38, 0xbd,
    0xd2, 0x60, 0xd5, 0x87, 0x23, 0x1b, 0xbf, 0xe3, 0x99, 0x26, 0x39, 0x17,
    0x5c, 0x70, 0xc1, 0x25, 0x17, 0x5c, 0x71, 0xc1, 0x35, 0x17, 0xfc, 0x01,
    0x06, 0x41, 0x57, 0x7e, 0x16, 0x02, 0x00, 0x00};

/* The 534-byte text inside dynamic_gz: six numbered pangram lines. */
static size_t dynamic_plain(char *buf, size_t size)
{
    size_t len = 0;
    int i;
    for (i = 0; i < 6; i++)
        len += (size_t)snprintf(buf + len, size - len,
                                "%d: the quick brown fox jumps over the lazy "
                                "dog; pack my box with five dozen liquor "
                                "jugs.\n",
                                i);
    return len;
}

/* Decodes in and checks that the result is exactly expected. */
static void assert_gunzips_to(const unsigned char *in, size_t in_size,
                              const void *expected, size_t expected_size)
{
    unsigned char *out = NULL;
    size_t out_size = 0;
    const char *reason = NULL;
    nn_status st = nn_gunzip(in, in_size, &out, &out_size, 1 << 20, &reason);
    if (st != NN_OK)
        fail_msg("nn_gunzip: %s", reason ? reason : nn_status_str(st));
    assert_int_equal(out_size, expected_size);
    assert_memory_equal(out, expected, expected_size);
    free(out);
}

/* Asserts that decoding in fails with status and leaves *out NULL. */
static void assert_gunzip_fails(const unsigned char *in, size_t in_size,
                                size_t max_out, nn_status status)
{
    unsigned char *out = (unsigned char *)"sentinel";
    size_t out_size = 7;
    const char *reason = NULL;
    assert_int_equal(nn_gunzip(in, in_size, &out, &out_size, max_out, &reason),
                     status);
    assert_null(out);
    assert_int_equal(out_size, 0);
    assert_non_null(reason);
}

/* ------------------------------------------------------------ gzip tests */

static void test_crc32_check_value(void **state)
{
    const unsigned char *digits = (const unsigned char *)"123456789";
    (void)state;
    assert_int_equal(nn_crc32(0, digits, 9), 0xcbf43926u);
    assert_int_equal(nn_crc32(nn_crc32(0, digits, 4), digits + 4, 5),
                     0xcbf43926u);
    assert_int_equal(nn_crc32(0, digits, 0), 0);
}

static void test_gunzip_stored_blocks(void **state)
{
    size_t n = 70000, gz_size, i; /* two stored blocks */
    unsigned char *plain = malloc(n), *gz;
    (void)state;
    assert_non_null(plain);
    for (i = 0; i < n; i++)
        plain[i] = (unsigned char)(i * 31 + i / 251);
    gz = make_stored_gzip(plain, n, &gz_size);
    assert_gunzips_to(gz, gz_size, plain, n);
    free(gz);
    gz = make_stored_gzip(plain, 0, &gz_size); /* empty member */
    assert_gunzips_to(gz, gz_size, plain, 0);
    free(gz);
    free(plain);
}

static void test_gunzip_fixed_huffman(void **state)
{
    (void)state;
    assert_int_equal((fixed_gz[10] >> 1) & 3, 1); /* BTYPE 01 */
    assert_gunzips_to(fixed_gz, sizeof fixed_gz, fixed_plain,
                      strlen(fixed_plain));
}

static void test_gunzip_dynamic_huffman(void **state)
{
    char plain[600];
    size_t n = dynamic_plain(plain, sizeof plain);
    (void)state;
    assert_int_equal(n, 534);
    assert_int_equal((dynamic_gz[10] >> 1) & 3, 2); /* BTYPE 10 */
    assert_gunzips_to(dynamic_gz, sizeof dynamic_gz, plain, n);
}

/* FEXTRA, FNAME, FCOMMENT and FHCRC around fixed_gz's deflate data. */
static void test_gunzip_header_fields(void **state)
{
    static const unsigned char fields[] = {
        0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3,
        4, 0, 'a', 'b', 2, 0,  /* XLEN 4, one subfield */
        'f', '.', 't', 'x', 't', 0, /* FNAME */
        'h', 'i', 0};               /* FCOMMENT */
    unsigned char gz[sizeof fields + 2 + sizeof fixed_gz];
    size_t body = sizeof fixed_gz - 10, n;
    uint32_t crc = ref_crc32(fields, sizeof fields);
    (void)state;
    memcpy(gz, fields, sizeof fields);
    gz[sizeof fields] = (unsigned char)crc;
    gz[sizeof fields + 1] = (unsigned char)(crc >> 8);
    memcpy(gz + sizeof fields + 2, fixed_gz + 10, body);
    n = sizeof fields + 2 + body;
    assert_gunzips_to(gz, n, fixed_plain, strlen(fixed_plain));
    gz[sizeof fields] ^= 1; /* header CRC */
    assert_gunzip_fails(gz, n, 1 << 20, NN_EFORMAT);
    gz[sizeof fields] ^= 1;
    gz[3] |= 0x20; /* reserved flag */
    assert_gunzip_fails(gz, n, 1 << 20, NN_EFORMAT);
    gz[3] = 0;
    gz[2] = 7; /* method other than deflate */
    assert_gunzip_fails(gz, n, 1 << 20, NN_EFORMAT);
}

static void test_gunzip_multiple_members(void **state)
{
    unsigned char gz[sizeof dynamic_gz + sizeof fixed_gz + 1];
    char plain[700];
    size_t n = dynamic_plain(plain, sizeof plain);
    (void)state;
    memcpy(gz, dynamic_gz, sizeof dynamic_gz);
    memcpy(gz + sizeof dynamic_gz, fixed_gz, sizeof fixed_gz);
    memcpy(plain + n, fixed_plain, strlen(fixed_plain));
    assert_gunzips_to(gz, sizeof dynamic_gz + sizeof fixed_gz, plain,
                      n + strlen(fixed_plain));
    gz[sizeof dynamic_gz + sizeof fixed_gz] = 0; /* trailing garbage */
    assert_gunzip_fails(gz, sizeof gz, 1 << 20, NN_EFORMAT);
}

static void test_gunzip_corrupt_streams(void **state)
{
    unsigned char gz[sizeof dynamic_gz];
    size_t n = sizeof gz, cut;
    (void)state;
    memcpy(gz, dynamic_gz, n);
    gz[n - 8] ^= 0x01; /* CRC-32 */
    assert_gunzip_fails(gz, n, 1 << 20, NN_EFORMAT);
    gz[n - 8] ^= 0x01;
    gz[n - 4] ^= 0x01; /* ISIZE */
    assert_gunzip_fails(gz, n, 1 << 20, NN_EFORMAT);
    gz[n - 4] ^= 0x01;
    gz[10] |= 0x06; /* BTYPE 11 is reserved */
    assert_gunzip_fails(gz, n, 1 << 20, NN_EFORMAT);
    for (cut = 0; cut < n; cut++) /* every truncation */
        assert_gunzip_fails(dynamic_gz, cut, 1 << 20, NN_EFORMAT);
    assert_int_equal(nn_gunzip(NULL, 0, NULL, NULL, 0, NULL), NN_EINVAL);
}

/* Flipping any bit of the deflate data must never crash or read out of
 * bounds (the sanitizers watch); a stream that still decodes must still
 * pass the CRC, so its output is the original text. */
static void test_gunzip_bit_flips(void **state)
{
    unsigned char gz[sizeof dynamic_gz];
    char plain[600];
    size_t n = dynamic_plain(plain, sizeof plain), i;
    int bit;
    (void)state;
    for (i = 10; i < sizeof gz - 8; i++) {
        for (bit = 0; bit < 8; bit++) {
            unsigned char *out = NULL;
            size_t out_size = 0;
            memcpy(gz, dynamic_gz, sizeof gz);
            gz[i] ^= (unsigned char)(1u << bit);
            if (nn_gunzip(gz, sizeof gz, &out, &out_size, 1 << 20, NULL) ==
                NN_OK) {
                assert_int_equal(out_size, n);
                assert_memory_equal(out, plain, n);
            }
            free(out);
        }
    }
}

static void test_gunzip_output_limit(void **state)
{
    char plain[600];
    size_t n = dynamic_plain(plain, sizeof plain);
    unsigned char *out = NULL;
    size_t out_size = 0;
    (void)state;
    assert_gunzip_fails(dynamic_gz, sizeof dynamic_gz, n - 1, NN_EOVERFLOW);
    assert_gunzip_fails(dynamic_gz, sizeof dynamic_gz, 0, NN_EOVERFLOW);
    assert_nn_ok(nn_gunzip(dynamic_gz, sizeof dynamic_gz, &out, &out_size, n,
                           NULL));
    assert_int_equal(out_size, n);
    free(out);
}

/* ----------------------------------------------------------- MNIST tests */

static void test_mnist_plain(void **state)
{
    char images[512], labels[512], msg[256];
    nn_dataset d;
    int i;
    (void)state;
    write_mnist("p-images", 3, "p-labels", 3, images, labels, sizeof images);
    assert_nn_ok(nn_mnist_load(images, labels, &d, msg, sizeof msg));
    assert_int_equal(d.count, 3);
    assert_int_equal(d.c, 1);
    assert_int_equal(d.h, 4);
    assert_int_equal(d.w, 5);
    assert_int_equal(d.classes, 10);
    for (i = 0; i < 3; i++)
        assert_int_equal(d.labels[i], (3 * i + 1) % 10);
    assert_int_equal(d.pixels[0], 0);
    assert_int_equal(d.pixels[19], 19);
    assert_int_equal(d.pixels[2 * 20 + 3], 14 + 3);
    assert_close(d.mean[0], 0.0, 0.0);
    assert_close(d.std[0], 1.0, 0.0);
    nn_dataset_free(&d);
    assert_null(d.pixels);
    nn_dataset_free(NULL);
}

/* nn_read_file keeps the file's limit and the inflated one apart: a gzip
 * file within its size limit that would inflate past max_plain is refused
 * as it inflates (the model reader gives 2 GiB and 1 GiB). */
static void test_read_file_limits_what_it_inflates(void **state)
{
    size_t n = 3000, gz_size, size;
    unsigned char *plain = calloc(n, 1), *gz, *data;
    char path[512], msg[256];
    (void)state;
    assert_non_null(plain);
    gz = make_stored_gzip(plain, n, &gz_size);
    write_file("limit.gz", gz, gz_size, path, sizeof path);
    assert_int_equal(nn_read_file(path, 10000, 2999, &data, &size, msg,
                                  sizeof msg), NN_EOVERFLOW);
    assert_null(data);
    print_message("  %s\n", strrchr(msg, '/') + 1);
    assert_non_null(strstr(msg, "gzip: inflates to more than the limit of "
                                "2999 bytes"));
    assert_nn_ok(nn_read_file(path, 10000, 3000, &data, &size, msg, sizeof msg));
    assert_int_equal(size, n);
    free(data);
    assert_int_equal(nn_read_file(path, gz_size - 1, 1 << 20, &data, &size,
                                  msg, sizeof msg), NN_EOVERFLOW);
    free(gz);
    free(plain);
}

/* Both files gzip-compressed (stored blocks, CRC computed here). */
static void test_mnist_gzip(void **state)
{
    char images[512], labels[512], msg[256];
    unsigned char *plain, *gz;
    size_t plain_size, gz_size;
    nn_dataset d;
    (void)state;
    plain = make_images(5, 4, 5, &plain_size);
    gz = make_stored_gzip(plain, plain_size, &gz_size);
    write_file("g-images.gz", gz, gz_size, images, sizeof images);
    free(plain);
    free(gz);
    plain = make_labels(5, &plain_size);
    gz = make_stored_gzip(plain, plain_size, &gz_size);
    write_file("g-labels.gz", gz, gz_size, labels, sizeof labels);
    free(plain);
    free(gz);
    assert_nn_ok(nn_mnist_load(images, labels, &d, msg, sizeof msg));
    assert_int_equal(d.count, 5);
    assert_int_equal(d.pixels[4 * 20 + 1], 29);
    assert_int_equal(d.labels[4], 3);
    nn_dataset_free(&d);
}

/* A corrupt gzip file is refused with the decoder's reason. */
static void test_mnist_corrupt_gzip(void **state)
{
    char images[512], labels[512], msg[256];
    unsigned char *plain, *gz;
    size_t plain_size, gz_size;
    nn_dataset d;
    (void)state;
    write_mnist("cg-images", 2, "cg-labels", 2, images, labels, sizeof images);
    plain = make_images(2, 4, 5, &plain_size);
    gz = make_stored_gzip(plain, plain_size, &gz_size);
    gz[gz_size - 6] ^= 0x40; /* CRC-32 */
    write_file("cg-images.gz", gz, gz_size, images, sizeof images);
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "cg-images.gz: gzip: CRC-32 mismatch");
    write_file("cg-images.gz", gz, gz_size - 20, images, sizeof images);
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "truncated");
    free(plain);
    free(gz);
}

/* The split's files found in a directory, plain or with .gz. */
static void test_mnist_load_dir(void **state)
{
    char dir[512], images[512], labels[512], msg[256];
    unsigned char *plain, *gz;
    size_t plain_size, gz_size;
    nn_dataset d;
    (void)state;
    make_subdir("mnist", dir, sizeof dir);
    write_mnist("mnist/train-images-idx3-ubyte", 6,
                "mnist/t10k-labels-idx1-ubyte", 2, images, labels,
                sizeof images);
    plain = make_labels(6, &plain_size);
    gz = make_stored_gzip(plain, plain_size, &gz_size);
    write_file("mnist/train-labels-idx1-ubyte.gz", gz, gz_size, labels,
               sizeof labels);
    free(plain);
    free(gz);
    assert_nn_ok(nn_mnist_load_dir(dir, 1, &d, msg, sizeof msg));
    assert_int_equal(d.count, 6);
    assert_int_equal(d.labels[5], 6);
    nn_dataset_free(&d);
    /* The test split lacks its images. */
    assert_int_equal(nn_mnist_load_dir(dir, 0, &d, msg, sizeof msg), NN_EIO);
    assert_refused(&d, msg, "t10k-images-idx3-ubyte.gz can be read");
    assert_int_equal(nn_mnist_load_dir(NULL, 0, &d, msg, sizeof msg),
                     NN_EINVAL);
}

static void test_mnist_missing_file(void **state)
{
    char path[512], msg[256];
    nn_dataset d;
    (void)state;
    temp_path("does-not-exist", path, sizeof path);
    assert_int_equal(nn_mnist_load(path, path, &d, msg, sizeof msg), NN_EIO);
    assert_refused(&d, msg, "does-not-exist: cannot open");
    assert_int_equal(nn_mnist_load(NULL, path, &d, NULL, 0), NN_EINVAL);
    assert_int_equal(nn_mnist_load(path, path, NULL, NULL, 0), NN_EINVAL);
}

static void test_mnist_truncated(void **state)
{
    char images[512], labels[512], msg[256];
    unsigned char *f;
    size_t n;
    nn_dataset d;
    (void)state;
    write_mnist("t-images", 3, "t-labels", 3, images, labels, sizeof images);
    f = make_images(3, 4, 5, &n);
    write_file("t-images", f, n - 1, images, sizeof images);
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "t-images: 75 bytes, but the header describes 16 + 60");
    write_file("t-images", f, 10, images, sizeof images);
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "truncated header");
    write_file("t-images", f, n, images, sizeof images);
    write_file("t-labels", f, 0, labels, sizeof labels); /* empty */
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "t-labels: truncated header");
    free(f);
}

static void test_mnist_bad_magic(void **state)
{
    char images[512], labels[512], msg[256];
    nn_dataset d;
    (void)state;
    write_mnist("m-images", 3, "m-labels", 3, images, labels, sizeof images);
    assert_int_equal(nn_mnist_load(labels, images, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "m-labels: bad magic number 0x00000801");
}

/* Headers whose sizes cannot be true are refused from the header alone,
 * before anything the size of their claims is allocated. */
static void test_mnist_absurd_dimensions(void **state)
{
    char images[512], labels[512], msg[256];
    unsigned char *f;
    size_t n;
    nn_dataset d;
    (void)state;
    write_mnist("a-images", 1, "a-labels", 1, images, labels, sizeof images);
    f = make_images(1, 4, 5, &n);
    put_be32(f + 8, 0x80000000u); /* 2^31 x 2^31 */
    put_be32(f + 12, 0x80000000u);
    write_file("a-images", f, n, images, sizeof images);
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "dimension 1 is 2147483648");
    put_be32(f + 4, 0x7fffffffu); /* (2^31-1)^3 overflows a size */
    put_be32(f + 8, 0x7fffffffu);
    put_be32(f + 12, 0x7fffffffu);
    write_file("a-images", f, n, images, sizeof images);
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EOVERFLOW);
    assert_refused(&d, msg, "overflow");
    put_be32(f + 4, 0x10000u); /* fits a size, not the file */
    put_be32(f + 8, 0x10000u);
    put_be32(f + 12, 0x10000u);
    write_file("a-images", f, n, images, sizeof images);
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "but the header describes");
    put_be32(f + 4, 0); /* no images */
    write_file("a-images", f, n, images, sizeof images);
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "dimension 0 is 0");
    free(f);
}

static void test_mnist_bad_label(void **state)
{
    char images[512], labels[512], msg[256];
    unsigned char *f;
    size_t n;
    nn_dataset d;
    (void)state;
    write_mnist("l-images", 3, "l-labels", 3, images, labels, sizeof images);
    f = make_labels(3, &n);
    f[8 + 2] = 10;
    write_file("l-labels", f, n, labels, sizeof labels);
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "l-labels: label 10 at index 2");
    free(f);
}

static void test_mnist_count_mismatch(void **state)
{
    char images[512], labels[512], msg[256];
    nn_dataset d;
    (void)state;
    write_mnist("t10k-images-idx3-ubyte.gz", 10, "t10k-labels-idx1-ubyte.gz",
                9, images, labels, sizeof images);
    assert_int_equal(nn_mnist_load(images, labels, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "t10k-labels-idx1-ubyte.gz: 9 labels but 10 images");
    /* msg may be NULL. */
    assert_int_equal(nn_mnist_load(images, labels, &d, NULL, 0), NN_EFORMAT);
}

/* Fashion-MNIST as the Debian package installs it (gzip, multi-block). */
static void test_fashion_mnist_real(void **state)
{
    char msg[256];
    int per_class[10] = {0}, i;
    nn_dataset d;
    (void)state;
    if (access(FASHION_DIR "/train-labels-idx1-ubyte.gz", R_OK) != 0)
        skip();
    assert_nn_ok(nn_mnist_load_dir(FASHION_DIR, 1, &d, msg, sizeof msg));
    assert_int_equal(d.count, 60000);
    assert_int_equal(d.h, 28);
    assert_int_equal(d.w, 28);
    for (i = 0; i < d.count; i++)
        per_class[d.labels[i]]++;
    for (i = 0; i < 10; i++)
        assert_int_equal(per_class[i], 6000);
    nn_dataset_free(&d);
    assert_nn_ok(nn_mnist_load_dir(FASHION_DIR, 0, &d, msg, sizeof msg));
    assert_int_equal(d.count, 10000);
    assert_int_equal(d.h, 28);
    assert_int_equal(d.w, 28);
    nn_dataset_free(&d);
}

/* -------------------------------------------------------- CIFAR-10 tests */

enum { RECORD = 3073 };

/* A batch file of n records: label (first_label + i) mod 10, then planes
 * whose bytes are channel * 50 + i + (index in the plane mod 7). */
static unsigned char *make_cifar(int n, int first_label, size_t *size)
{
    unsigned char *f = malloc((size_t)n * RECORD);
    int i, k;
    assert_non_null(f);
    for (i = 0; i < n; i++) {
        unsigned char *r = f + (size_t)i * RECORD;
        r[0] = (unsigned char)((first_label + i) % 10);
        for (k = 0; k < 3072; k++)
            r[1 + k] = (unsigned char)((k / 1024) * 50 + i + k % 1024 % 7);
    }
    *size = (size_t)n * RECORD;
    return f;
}

/* Writes a batch file of n records under name. */
static void write_cifar(const char *name, int n, int first_label, char *path,
                        size_t path_size)
{
    size_t size;
    unsigned char *f = make_cifar(n, first_label, &size);
    write_file(name, f, size, path, path_size);
    free(f);
}

static void test_cifar_valid(void **state)
{
    char a[512], b[512], msg[256];
    const char *paths[2] = {a, b};
    nn_dataset d;
    (void)state;
    write_cifar("c-a.bin", 2, 0, a, sizeof a);
    write_cifar("c-b.bin", 3, 5, b, sizeof b);
    assert_nn_ok(nn_cifar10_load(paths, 2, &d, msg, sizeof msg));
    assert_int_equal(d.count, 5);
    assert_int_equal(d.c, 3);
    assert_int_equal(d.h, 32);
    assert_int_equal(d.w, 32);
    assert_int_equal(d.classes, 10);
    assert_int_equal(d.labels[1], 1);
    assert_int_equal(d.labels[2], 5);
    assert_int_equal(d.labels[4], 7);
    /* record 3 (second of b): red plane, then green pixel 10, blue pixel 6 */
    assert_int_equal(d.pixels[3 * 3072 + 0], 1);
    assert_int_equal(d.pixels[3 * 3072 + 1024 + 10], 50 + 1 + 3);
    assert_int_equal(d.pixels[3 * 3072 + 2048 + 6], 100 + 1 + 6);
    nn_dataset_free(&d);
}

static void test_cifar_load_dir(void **state)
{
    char dir[512], path[512], name[64], msg[256];
    nn_dataset d;
    int i;
    (void)state;
    make_subdir("cifar10", dir, sizeof dir);
    assert_int_equal(nn_cifar10_load_dir(dir, 1, &d, msg, sizeof msg), NN_EIO);
    assert_refused(&d, msg, "data_batch_1.bin: cannot open");
    for (i = 1; i <= 5; i++) {
        snprintf(name, sizeof name, "cifar10/data_batch_%d.bin", i);
        write_cifar(name, i, i, path, sizeof path);
    }
    write_cifar("cifar10/test_batch.bin", 4, 0, path, sizeof path);
    assert_nn_ok(nn_cifar10_load_dir(dir, 1, &d, msg, sizeof msg));
    assert_int_equal(d.count, 1 + 2 + 3 + 4 + 5);
    assert_int_equal(d.labels[0], 1);
    assert_int_equal(d.labels[14], 9);
    nn_dataset_free(&d);
    assert_nn_ok(nn_cifar10_load_dir(dir, 0, &d, msg, sizeof msg));
    assert_int_equal(d.count, 4);
    nn_dataset_free(&d);
}

static void test_cifar_truncated(void **state)
{
    char a[512], b[512], msg[256];
    const char *paths[2] = {a, b};
    unsigned char *f;
    size_t size;
    nn_dataset d;
    (void)state;
    write_cifar("t-a.bin", 1, 0, a, sizeof a);
    f = make_cifar(2, 0, &size);
    write_file("t-b.bin", f, size - 1, b, sizeof b);
    assert_int_equal(nn_cifar10_load(paths, 2, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "t-b.bin: 6145 bytes is not a whole number");
    write_file("t-b.bin", f, 0, b, sizeof b);
    assert_int_equal(nn_cifar10_load(paths, 2, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "t-b.bin: 0 bytes");
    free(f);
}

static void test_cifar_bad_label(void **state)
{
    char a[512], msg[256];
    const char *paths[2] = {a, NULL};
    unsigned char *f;
    size_t size;
    nn_dataset d;
    (void)state;
    f = make_cifar(3, 0, &size);
    f[2 * RECORD] = 10;
    write_file("l-a.bin", f, size, a, sizeof a);
    assert_int_equal(nn_cifar10_load(paths, 1, &d, msg, sizeof msg),
                     NN_EFORMAT);
    assert_refused(&d, msg, "l-a.bin: label 10 of record 2");
    assert_int_equal(nn_cifar10_load(paths, 2, &d, msg, sizeof msg),
                     NN_EINVAL);
    assert_int_equal(nn_cifar10_load(paths, 0, &d, msg, sizeof msg),
                     NN_EINVAL);
    assert_int_equal(nn_cifar10_load(NULL, 1, &d, msg, sizeof msg),
                     NN_EINVAL);
    free(f);
}

/* ------------------------------------------------------- dataset tests */

/* A 3-sample, 2-channel, 1x2 dataset owning malloc'd arrays. */
static void make_small_dataset(nn_dataset *d)
{
    static const uint8_t pixels[12] = {0, 255, 51, 102, /* sample 0 */
                                       10, 20, 30, 40,  /* sample 1 */
                                       255, 0, 0, 255}; /* sample 2 */
    static const uint8_t labels[3] = {4, 0, 9};
    memset(d, 0, sizeof *d);
    d->pixels = malloc(sizeof pixels);
    d->labels = malloc(sizeof labels);
    assert_non_null(d->pixels);
    assert_non_null(d->labels);
    memcpy(d->pixels, pixels, sizeof pixels);
    memcpy(d->labels, labels, sizeof labels);
    d->count = 3;
    d->c = 2;
    d->h = 1;
    d->w = 2;
    d->classes = 10;
    d->std[0] = d->std[1] = d->std[2] = 1.0f;
}

static void test_dataset_batch(void **state)
{
    nn_dataset d;
    float x[12];
    int labels[3], indices[2] = {2, 0};
    (void)state;
    make_small_dataset(&d);
    assert_nn_ok(nn_dataset_batch(&d, NULL, 3, x, labels));
    assert_close(x[1], 1.0, 1e-7);
    assert_close(x[2], 0.2, 1e-7);
    assert_close(x[7], 40.0 / 255.0, 1e-7);
    assert_int_equal(labels[2], 9);
    d.mean[0] = 0.5f;
    d.std[0] = 0.25f;
    d.mean[1] = 0.1f;
    d.std[1] = 2.0f;
    assert_nn_ok(nn_dataset_batch(&d, indices, 2, x, labels));
    assert_close(x[0], (1.0 - 0.5) / 0.25, 1e-6);  /* sample 2, channel 0 */
    assert_close(x[3], (1.0 - 0.1) / 2.0, 1e-6);   /* sample 2, channel 1 */
    assert_close(x[4], (0.0 - 0.5) / 0.25, 1e-6);  /* sample 0, channel 0 */
    assert_close(x[6], (0.2 - 0.1) / 2.0, 1e-6);   /* sample 0, channel 1 */
    assert_int_equal(labels[0], 9);
    assert_int_equal(labels[1], 4);
    nn_dataset_free(&d);
}

static void test_dataset_batch_invalid(void **state)
{
    nn_dataset d;
    float x[12];
    int labels[3], bad_low[2] = {0, -1}, bad_high[2] = {3, 0};
    (void)state;
    make_small_dataset(&d);
    assert_int_equal(nn_dataset_batch(NULL, NULL, 1, x, labels), NN_EINVAL);
    assert_int_equal(nn_dataset_batch(&d, NULL, 1, NULL, labels), NN_EINVAL);
    assert_int_equal(nn_dataset_batch(&d, NULL, 1, x, NULL), NN_EINVAL);
    assert_int_equal(nn_dataset_batch(&d, NULL, 0, x, labels), NN_EINVAL);
    assert_int_equal(nn_dataset_batch(&d, NULL, -2, x, labels), NN_EINVAL);
    assert_int_equal(nn_dataset_batch(&d, NULL, 4, x, labels), NN_EINVAL);
    assert_int_equal(nn_dataset_batch(&d, bad_low, 2, x, labels), NN_EINVAL);
    assert_int_equal(nn_dataset_batch(&d, bad_high, 2, x, labels), NN_EINVAL);
    d.std[1] = 0.0f;
    assert_int_equal(nn_dataset_batch(&d, NULL, 1, x, labels), NN_EINVAL);
    nn_dataset_free(&d);
    assert_int_equal(nn_dataset_batch(&d, NULL, 1, x, labels), NN_EINVAL);
}

/* The reference augmentation: image (c, h, w) shifted by (dy, dx) with
 * zeros shifted in, through a copy, then each row mirrored when flip. */
static void ref_augment(float *x, int c, int h, int w, int dy, int dx,
                        int flip)
{
    size_t size = (size_t)c * h * w;
    float *copy = malloc(size * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, x, size * sizeof *x);
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int i = 0; i < w; i++) {
                int sy = y + dy, sx = i + dx;
                x[((size_t)ch * h + y) * w + i] =
                    sy >= 0 && sy < h && sx >= 0 && sx < w
                        ? copy[((size_t)ch * h + sy) * w + sx]
                        : 0.0f;
            }
    for (int row = 0; flip && row < c * h; row++)
        for (int i = 0, j = w - 1; i < j; i++, j--) {
            float t = x[(size_t)row * w + i];
            x[(size_t)row * w + i] = x[(size_t)row * w + j];
            x[(size_t)row * w + j] = t;
        }
    free(copy);
}

/* nn_dataset_batch_drawn against nn_dataset_batch followed by the
 * reference shift and mirror, bit for bit, on 1, 2 and 3 threads: random
 * 3x7x6 bytes, shifts from -8 to 8 (beyond the image too), both flips. */
static void test_dataset_batch_drawn(void **state)
{
    enum { COUNT = 13, N = 11, C = 3, H = 7, W = 6, SIZE = C * H * W };
    nn_dataset d = {0};
    nn_sample_draw draws[N];
    float want[N * SIZE], got[N * SIZE];
    int indices[N], want_labels[N], got_labels[N];
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 11);
    d.pixels = malloc(COUNT * SIZE);
    d.labels = malloc(COUNT);
    assert_non_null(d.pixels);
    assert_non_null(d.labels);
    for (int i = 0; i < COUNT * SIZE; i++)
        d.pixels[i] = (uint8_t)nn_rng_below(&rng, 256);
    for (int i = 0; i < COUNT; i++)
        d.labels[i] = (uint8_t)nn_rng_below(&rng, 10);
    d.count = COUNT;
    d.c = C;
    d.h = H;
    d.w = W;
    d.classes = 10;
    nn_dataset_normalize(&d);
    for (int i = 0; i < N; i++) {
        indices[i] = (int)nn_rng_below(&rng, COUNT);
        draws[i] = (nn_sample_draw){.index = indices[i],
                                    .dy = (int)nn_rng_below(&rng, 17) - 8,
                                    .dx = (int)nn_rng_below(&rng, 17) - 8,
                                    .flip = (int)nn_rng_below(&rng, 2)};
    }
    draws[0].dy = draws[0].dx = draws[0].flip = 0; /* the plain conversion */
    draws[1].dy = draws[1].dx = 0;
    draws[1].flip = 1;
    assert_nn_ok(nn_dataset_batch(&d, indices, N, want, want_labels));
    for (int i = 0; i < N; i++)
        ref_augment(want + (size_t)i * SIZE, C, H, W, draws[i].dy,
                    draws[i].dx, draws[i].flip);
    for (int threads = 1; threads <= 3; threads++) {
        nn_pool *pool = NULL;
        if (threads > 1)
            assert_nn_ok(nn_pool_create(threads, &pool));
        memset(got, 0xff, sizeof got);
        assert_nn_ok(nn_dataset_batch_drawn(&d, draws, N, pool, got, got_labels));
        assert_memory_equal(got, want, sizeof want);
        assert_memory_equal(got_labels, want_labels, sizeof want_labels);
        nn_pool_destroy(pool);
    }
    draws[3].index = COUNT;
    assert_int_equal(nn_dataset_batch_drawn(&d, draws, N, NULL, got, got_labels),
                     NN_EINVAL);
    draws[3].index = -1;
    assert_int_equal(nn_dataset_batch_drawn(&d, draws, N, NULL, got, got_labels),
                     NN_EINVAL);
    assert_int_equal(nn_dataset_batch_drawn(&d, draws, 0, NULL, got, got_labels),
                     NN_EINVAL);
    assert_int_equal(nn_dataset_batch_drawn(&d, NULL, 1, NULL, got, got_labels),
                     NN_EINVAL);
    nn_dataset_free(&d);
}

/* After normalize, every channel of the whole set has mean 0 and std 1. */
static void test_dataset_normalize(void **state)
{
    nn_dataset d;
    float x[12];
    int labels[3], c, i;
    (void)state;
    make_small_dataset(&d);
    nn_dataset_normalize(&d);
    /* channel 0: 0, 255, 10, 20, 255, 0 -> mean 540/6/255 */
    assert_close(d.mean[0], 90.0 / 255.0, 1e-6);
    assert_close(d.mean[2], 0.0, 0.0);
    assert_close(d.std[2], 1.0, 0.0);
    assert_nn_ok(nn_dataset_batch(&d, NULL, 3, x, labels));
    for (c = 0; c < 2; c++) {
        double sum = 0.0, sum_sq = 0.0;
        for (i = 0; i < 3; i++) {
            sum += x[i * 4 + c * 2] + x[i * 4 + c * 2 + 1];
            sum_sq += x[i * 4 + c * 2] * x[i * 4 + c * 2] +
                      x[i * 4 + c * 2 + 1] * x[i * 4 + c * 2 + 1];
        }
        assert_close(sum / 6.0, 0.0, 1e-6);
        assert_close(sum_sq / 6.0, 1.0, 1e-5);
    }
    memset(d.pixels, 7, 12); /* constant: std stays 1 */
    nn_dataset_normalize(&d);
    assert_close(d.mean[0], 7.0 / 255.0, 1e-7);
    assert_close(d.std[0], 1.0, 0.0);
    nn_dataset_free(&d);
    nn_dataset_normalize(&d);
    nn_dataset_normalize(NULL);
}

/* ------------------------------------------------------ special files */

/* Seconds on the monotonic clock. */
static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fails unless msg names path and says it is `kind`. */
static void assert_names_kind(const char *msg, const char *path,
                              const char *kind)
{
    char want[600];
    snprintf(want, sizeof want, "%s: is %s, not a regular file", path, kind);
    if (!strstr(msg, want))
        fail_msg("message \"%s\" does not say \"%s\"", msg, want);
}

/* A FIFO (which a plain open() would wait on forever for a writer), a
 * directory and an endless device where a dataset, a model or a checkpoint
 * is expected: every loader refuses each at once with NN_EIO and a message
 * naming the file and what it is. SIGALRM ends the test if one blocks. */
static void test_special_files_are_refused(void **state)
{
    char fifo[512], dir[512], images[512], labels[512], msg[512];
    struct {
        const char *path, *kind;
    } special[3] = {{fifo, "a FIFO"}, {dir, "a directory"},
                    {"/dev/zero", "a device"}};
    unsigned char *f;
    size_t size;
    nn_dataset d;
    (void)state;
    temp_path("special.fifo", fifo, sizeof fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    make_subdir("special.dir", dir, sizeof dir);
    f = make_images(2, 3, 3, &size);
    write_file("special-images", f, size, images, sizeof images);
    free(f);
    f = make_labels(2, &size);
    write_file("special-labels", f, size, labels, sizeof labels);
    free(f);
    alarm(20);
    for (int i = 0; i < 3; i++) {
        const char *path = special[i].path;
        nn_net *net = (nn_net *)&d; /* must come back NULL */
        nn_optim *opt = NULL;
        nn_train_state ts;
        double start = now_seconds();
        assert_int_equal(nn_mnist_load(path, labels, &d, msg, sizeof msg), NN_EIO);
        assert_refused(&d, msg, path);
        assert_names_kind(msg, path, special[i].kind);
        assert_int_equal(nn_mnist_load(images, path, &d, msg, sizeof msg), NN_EIO);
        assert_names_kind(msg, path, special[i].kind);
        assert_int_equal(nn_cifar10_load(&path, 1, &d, msg, sizeof msg), NN_EIO);
        assert_refused(&d, msg, path);
        assert_names_kind(msg, path, special[i].kind);
        assert_int_equal(nn_model_load(path, 8, &net, msg, sizeof msg), NN_EIO);
        assert_null(net);
        assert_names_kind(msg, path, special[i].kind);
        assert_int_equal(nn_model_load_inference(path, 1, &net, msg, sizeof msg),
                         NN_EIO);
        assert_names_kind(msg, path, special[i].kind);
        assert_int_equal(nn_checkpoint_load(path, 8, NULL, &net, &opt, &ts, msg,
                                            sizeof msg), NN_EIO);
        assert_null(net);
        assert_names_kind(msg, path, special[i].kind);
        print_message("  %-10s %.4f s: %s\n", special[i].kind,
                      now_seconds() - start, msg);
        assert_true(now_seconds() - start < 2.0);
    }
    alarm(0);
    /* The directory loaders too: FIFOs where the MNIST files are expected. */
    make_subdir("fifo-mnist", dir, sizeof dir);
    temp_path("fifo-mnist/train-labels-idx1-ubyte", fifo, sizeof fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    temp_path("fifo-mnist/train-images-idx3-ubyte", fifo, sizeof fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20);
    assert_int_equal(nn_mnist_load_dir(dir, 1, &d, msg, sizeof msg), NN_EIO);
    alarm(0);
    assert_names_kind(msg, fifo, "a FIFO");
}

/* nn_write_file_atomic never replaces what is not a regular file, reports
 * a missing directory, and when the disk fills up (simulated with
 * RLIMIT_FSIZE) leaves the existing file exactly as it was, with no
 * temporary file behind. */
static void test_atomic_write_failures_keep_the_old_file(void **state)
{
    static unsigned char big[64 * 1024];
    const unsigned char good[] = "the good file";
    char fifo[512], dir[512], path[512], msg[512];
    struct rlimit old, small;
    struct stat info;
    unsigned char *back;
    size_t size;
    (void)state;
    temp_path("target.fifo", fifo, sizeof fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    make_subdir("target.dir", dir, sizeof dir);
    assert_int_equal(nn_write_file_atomic(fifo, good, sizeof good, msg, sizeof msg),
                     NN_EIO);
    assert_names_kind(msg, fifo, "a FIFO");
    assert_true(stat(fifo, &info) == 0 && S_ISFIFO(info.st_mode));
    assert_int_equal(nn_write_file_atomic(dir, good, sizeof good, msg, sizeof msg),
                     NN_EIO);
    assert_names_kind(msg, dir, "a directory");
    assert_true(stat(dir, &info) == 0 && S_ISDIR(info.st_mode));
    temp_path("missing-dir/out.bin", path, sizeof path);
    assert_int_equal(nn_write_file_atomic(path, good, sizeof good, msg, sizeof msg),
                     NN_EIO);
    assert_non_null(strstr(msg, "missing-dir/out.bin: cannot create a temporary file"));
    /* A full disk: writes beyond 16 KiB fail with EFBIG. */
    write_file("kept.bin", good, sizeof good, path, sizeof path);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 16 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    assert_int_equal(nn_write_file_atomic(path, big, sizeof big, msg, sizeof msg),
                     NN_EIO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    print_message("  full disk: %s\n", msg);
    assert_non_null(strstr(msg, "kept.bin: write failed"));
    back = tu_read_file(path, &size);
    assert_int_equal(size, sizeof good);
    assert_memory_equal(back, good, sizeof good);
    free(back);
    assert_int_equal(tu_count_entries(temp_dir, ".tmp."), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_check_value),
        cmocka_unit_test(test_gunzip_stored_blocks),
        cmocka_unit_test(test_read_file_limits_what_it_inflates),
        cmocka_unit_test(test_gunzip_fixed_huffman),
        cmocka_unit_test(test_gunzip_dynamic_huffman),
        cmocka_unit_test(test_gunzip_header_fields),
        cmocka_unit_test(test_gunzip_multiple_members),
        cmocka_unit_test(test_gunzip_corrupt_streams),
        cmocka_unit_test(test_gunzip_bit_flips),
        cmocka_unit_test(test_gunzip_output_limit),
        cmocka_unit_test(test_mnist_plain),
        cmocka_unit_test(test_mnist_gzip),
        cmocka_unit_test(test_mnist_corrupt_gzip),
        cmocka_unit_test(test_mnist_load_dir),
        cmocka_unit_test(test_mnist_missing_file),
        cmocka_unit_test(test_mnist_truncated),
        cmocka_unit_test(test_mnist_bad_magic),
        cmocka_unit_test(test_mnist_absurd_dimensions),
        cmocka_unit_test(test_mnist_bad_label),
        cmocka_unit_test(test_mnist_count_mismatch),
        cmocka_unit_test(test_fashion_mnist_real),
        cmocka_unit_test(test_cifar_valid),
        cmocka_unit_test(test_cifar_load_dir),
        cmocka_unit_test(test_cifar_truncated),
        cmocka_unit_test(test_cifar_bad_label),
        cmocka_unit_test(test_dataset_batch),
        cmocka_unit_test(test_dataset_batch_invalid),
        cmocka_unit_test(test_dataset_batch_drawn),
        cmocka_unit_test(test_dataset_normalize),
        cmocka_unit_test(test_special_files_are_refused),
        cmocka_unit_test(test_atomic_write_failures_keep_the_old_file),
    };
    return cmocka_run_group_tests(tests, make_temp_dir, remove_temp_dir);
}
