/* libFuzzer target: nn_model_load on the input as a model file (plain or
 * gzip-compressed). A file that loads must run a forward pass, save, and
 * load again to the same architecture, parameters and state, bit for bit.
 * A plain one must load into a buffer of exactly nn_infer_size bytes (one
 * AddressSanitizer watches the end of) and give the same output, and one
 * that does not load is refused there too.
 *
 * Every input is loaded twice: as it is, and with its last four bytes
 * replaced by the CRC-32 of the rest, so that mutations reach the checks
 * that come after the checksum.
 *
 * A valid file may describe a net far too big to build in a fuzz run (a
 * 100-byte file can ask for gigabytes: see docs/RELIABILITY.md), so its
 * header is read here first and such files are skipped. */
#include "fuzz_util.h"
#include "io/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HEADER = 52, SPEC_AT = 52 };

/* The little-endian u32 at p. */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* 0 when the file's header names an input shape and spec whose net is too
 * big for a fuzz run; 1 otherwise (the loader decides the rest). */
static int header_affordable(const uint8_t *data, size_t size)
{
    uint32_t c, h, w, len;
    char *spec;
    nn_net *probe = NULL;
    int ok = 1;
    if (size < HEADER || memcmp(data, "NNMODEL", 8) != 0)
        return 1;
    c = le32(data + 12), h = le32(data + 16), w = le32(data + 20);
    len = le32(data + 48);
    if (len > size - SPEC_AT || c > INT32_MAX || h > INT32_MAX ||
        w > INT32_MAX || nn_net_create((int)c, (int)h, (int)w, &probe) != NN_OK)
        return 1;
    spec = malloc((size_t)len + 1);
    FUZZ_CHECK(spec != NULL);
    memcpy(spec, data + SPEC_AT, len);
    spec[len] = '\0';
    if (nn_net_add_spec(probe, spec, NULL, 0) == NN_OK)
        ok = fuzz_net_affordable(probe);
    free(spec);
    nn_net_destroy(probe);
    return ok;
}

/* The same, looking inside a gzip stream as the loader does. */
static int affordable(const uint8_t *data, size_t size)
{
    unsigned char *plain;
    size_t plain_size;
    int ok;
    if (size < 2 || data[0] != 0x1f || data[1] != 0x8b)
        return header_affordable(data, size);
    if (nn_gunzip(data, size, &plain, &plain_size, 1u << 24, NULL) != NN_OK)
        return 1;
    ok = header_affordable(plain, plain_size);
    free(plain);
    return ok;
}

/* Runs a loaded net once, saves it and loads the copy back. */
static void check_loaded(nn_net *net)
{
    char path[128], msg[256];
    const char *dir = fuzz_temp_dir();
    nn_net *again = NULL;
    nn_net_set_training(net, 0);
    FUZZ_CHECK(nn_net_forward(net, 1) == NN_OK);
    FUZZ_CHECK(dir != NULL);
    snprintf(path, sizeof path, "%s/model.nnm", dir);
    FUZZ_CHECK(nn_model_save(net, path, msg, sizeof msg) == NN_OK);
    FUZZ_CHECK(nn_model_load(path, 1, &again, msg, sizeof msg) == NN_OK);
    FUZZ_CHECK(fuzz_same_net(net, again));
    nn_net_destroy(again);
}

/* nn_model_load_into data, whose nn_model_load gave net (NULL: refused),
 * in a buffer of exactly nn_infer_size bytes: the same verdict, and the
 * same output as the net nn_model_load_inference builds from the same file
 * (both inference builds: folded batchnorm, the same kernels), bit for bit;
 * net's input is the one its last forward pass ran. */
static void check_in_buffer(const uint8_t *data, size_t size, nn_net *net,
                            const char *path)
{
    nn_net *heap = NULL;
    size_t need = 0;
    nn_net *in_buffer = NULL;
    unsigned char *buffer;
    char msg[256];
    nn_status st = nn_infer_size(data, size, 1, &need);
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
        return; /* refused as gzip'd: nn_model_load inflates it */
    /* past about 300 layers nn_infer_size declines (its stack) */
    FUZZ_CHECK(st == NN_OK || st == NN_EOVERFLOW || !net);
    if (st != NN_OK)
        return;
    /* exactly need bytes, aligned; AddressSanitizer guards the end */
    FUZZ_CHECK(posix_memalign((void **)&buffer, NN_BUFFER_ALIGN, need) == 0);
    st = nn_model_load_into(data, size, 1, buffer, need, &in_buffer, msg,
                            sizeof msg);
    FUZZ_CHECK((st == NN_OK) == (net != NULL));
    if (st == NN_OK) {
        FUZZ_CHECK(nn_model_load_inference(path, 1, &heap, msg, sizeof msg) ==
                   NN_OK);
        memcpy(nn_net_input(in_buffer)->x, nn_net_input(net)->x,
               nn_tensor_count(nn_net_input(net)) * sizeof(float));
        memcpy(nn_net_input(heap)->x, nn_net_input(net)->x,
               nn_tensor_count(nn_net_input(net)) * sizeof(float));
        FUZZ_CHECK(nn_net_forward(in_buffer, 1) == NN_OK);
        FUZZ_CHECK(nn_net_forward(heap, 1) == NN_OK);
        FUZZ_CHECK(memcmp(nn_net_output(in_buffer)->x, nn_net_output(heap)->x,
                          nn_tensor_count(nn_net_output(heap)) *
                              sizeof(float)) == 0);
        nn_net_destroy(heap);
    }
    free(buffer);
}

/* Loads data as a model file and checks what comes back. */
static void load(const uint8_t *data, size_t size)
{
    nn_net *net = NULL;
    char msg[256];
    const char *path = fuzz_file(0, data, size, 0);
    nn_status st;
    FUZZ_CHECK(path != NULL);
    st = nn_model_load(path, 1, &net, msg, sizeof msg);
    FUZZ_CHECK(strlen(msg) < sizeof msg);
    FUZZ_CHECK((st == NN_OK) == (net != NULL));
    FUZZ_CHECK(st == NN_OK || msg[0] != '\0');
    if (st == NN_OK)
        check_loaded(net);
    check_in_buffer(data, size, net, path);
    nn_net_destroy(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed;
    uint32_t crc;
    if (!affordable(data, size))
        return -1; /* not kept in the corpus */
    load(data, size);
    /* Again with the checksum made right, so that mutations reach the
     * checks behind it (spec, shape, counts). */
    if (size < 4 || (data[0] == 0x1f && data[1] == 0x8b))
        return 0;
    crc = nn_crc32(0, data, size - 4);
    if (le32(data + size - 4) == crc)
        return 0;
    fixed = malloc(size);
    FUZZ_CHECK(fixed != NULL);
    memcpy(fixed, data, size - 4);
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    load(fixed, size);
    free(fixed);
    return 0;
}
