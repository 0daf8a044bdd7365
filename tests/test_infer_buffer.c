/* Inference in a caller's buffer: nn_infer_size is the exact size
 * nn_model_load_into needs; from the one through loading, forward passes,
 * reading the output and its softmax no heap call is made (counted by
 * tests/alloc_count.h); outputs are those of a net loaded on the heap for
 * inference, bit for bit, and close to a training build's; a buffer one
 * byte short, or misaligned without the room for it, is refused with the
 * size needed; hostile images are refused without a write past the buffer
 * (a guard after it, which AddressSanitizer watches under NN_SANITIZE,
 * where the counting is left out: the sanitizers replace malloc
 * themselves). */
#include "gradcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/model_file.h"

#ifndef NN_TEST_NO_COUNTING
#include "alloc_count.h"

static void count(int on)
{
    if (on)
        allocations = 0;
    counting = on;
}

static void assert_no_allocation(const char *what)
{
    print_message("  %s: %zu heap calls\n", what, allocations);
    assert_int_equal(allocations, 0);
}
#else
static void count(int on)
{
    (void)on;
}

static void assert_no_allocation(const char *what)
{
    (void)what;
}
#endif

#define GUARD 256     /* bytes checked after the buffer */
#define GUARD_BYTE 0xa5

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

/* Fills the guard at p, which AddressSanitizer then watches. */
static void set_guard(unsigned char *p)
{
    memset(p, GUARD_BYTE, GUARD);
    ASAN_POISON_MEMORY_REGION(p, GUARD);
}

/* A model image (a whole model file in memory) of spec on inputs
 * (c, h, w), with batchnorm statistics moved off their start by one
 * training pass. Free with free(). */
static nn_le_buffer make_image(const char *spec, int c, int h, int w)
{
    nn_net *net = tu_net(spec, c, h, w, 2, 11);
    nn_le_buffer b = {NULL, 0, 0, 0};
    char msg[256];
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    gc_fill_normal(nn_net_input(net)->x, (size_t)2 * c * h * w, 1.0f, &rng);
    assert_nn_ok(nn_net_forward(net, 2));
    assert_nn_ok(nn_model_encode(net, &b, msg, sizeof msg));
    b.pos = 0; /* for nn_model_decode */
    nn_net_destroy(net);
    return b;
}

/* The output of a net loaded from the image on the heap, built for
 * inference (as nn_model_load_inference does) or for training (as
 * nn_model_load does) in inference mode, for inputs x of batch samples,
 * then its softmax through nn_net_softmax_xent: a new array of
 * 2 * *floats. */
static float *heap_output(const nn_le_buffer *image, int max_batch,
                          int inference, const float *x, int batch,
                          size_t *floats)
{
    nn_le_buffer b = *image;
    nn_net *net = NULL;
    int labels[8] = {0};
    char msg[256];
    float *y, loss;
    assert_nn_ok(nn_model_decode(&b, max_batch, inference, &net, msg,
                                 sizeof msg));
    nn_net_set_training(net, 0);
    memcpy(nn_net_input(net)->x, x,
           nn_tensor_count(nn_net_input(net)) / (size_t)max_batch *
               (size_t)batch * sizeof(float));
    assert_nn_ok(nn_net_forward(net, batch));
    *floats = nn_tensor_count(nn_net_output(net));
    y = malloc(2 * *floats * sizeof(float));
    assert_non_null(y);
    memcpy(y, nn_net_output(net)->x, *floats * sizeof(float));
    assert_nn_ok(nn_net_softmax_xent(net, labels, &loss));
    memcpy(y + *floats, nn_net_probs(net), *floats * sizeof(float));
    nn_net_destroy(net);
    return y;
}

/* 1 when the GUARD bytes at p still hold GUARD_BYTE. */
static int guard_intact(unsigned char *p)
{
    ASAN_UNPOISON_MEMORY_REGION(p, GUARD);
    for (int i = 0; i < GUARD; i++)
        if (p[i] != GUARD_BYTE)
            return 0;
    return 1;
}

/* Loads the image into [buffer, buffer + size) and refuses it as too small,
 * with `need` in the message. */
static void check_too_small(const nn_le_buffer *image, int max_batch,
                            unsigned char *buffer, size_t size, size_t need)
{
    nn_net *net = NULL;
    char msg[256], want[128];
    set_guard(buffer + size);
    assert_int_equal(nn_model_load_into(image->data, image->size, max_batch,
                                        buffer, size, &net, msg, sizeof msg),
                     NN_ENOMEM);
    assert_null(net);
    snprintf(want, sizeof want, "the buffer holds %zu bytes; this model "
             "needs %zu", size, need);
    assert_string_equal(msg, want);
    assert_true(guard_intact(buffer + size));
}

/* Everything the buffer promises, for one model and max_batch: the size,
 * no heap call, the heap's outputs bit for bit, refusals a byte short. */
static void check_model(const char *spec, int c, int h, int w, int max_batch)
{
    nn_le_buffer image = make_image(spec, c, h, w);
    size_t need = 0, floats, sample = (size_t)c * h * w;
    unsigned char *buffer, *at;
    float *x, *expected;
    nn_net *net = NULL;
    char msg[256];
    nn_rng rng;
    int batch = max_batch > 1 ? max_batch - 1 : 1;

    x = malloc(sample * (size_t)max_batch * sizeof(float));
    assert_non_null(x);
    nn_rng_seed(&rng, 9);
    gc_fill_normal(x, sample * (size_t)max_batch, 1.0f, &rng);
    expected = heap_output(&image, max_batch, 1, x, batch, &floats);
    {
        /* the training build's outputs: close (batchnorm is folded in the
         * inference build), not equal */
        size_t train_floats;
        float *train = heap_output(&image, max_batch, 0, x, batch,
                                   &train_floats);
        assert_int_equal(train_floats, floats);
        tu_assert_outputs_close(expected, train, 2 * floats, TU_INFER_TOL,
                                spec);
        free(train);
    }

    count(1);
    assert_nn_ok(nn_infer_size(image.data, image.size, max_batch, &need));
    count(0);
    assert_no_allocation("nn_infer_size");
    print_message("  %s, batches of %d: %zu bytes\n", spec, max_batch, need);
    /* room for a misaligned start and the guard */
    buffer = aligned_alloc(NN_BUFFER_ALIGN,
                           (need + 2 * NN_BUFFER_ALIGN + GUARD) /
                               NN_BUFFER_ALIGN * NN_BUFFER_ALIGN);
    assert_non_null(buffer);

    check_too_small(&image, max_batch, buffer, need - 1, need);
    check_too_small(&image, max_batch, buffer + 1, need,
                    need + NN_BUFFER_ALIGN - 1);

    for (int misaligned = 0; misaligned < 2; misaligned++) {
        size_t size = misaligned ? need + NN_BUFFER_ALIGN - 1 : need;
        at = buffer + misaligned;
        set_guard(at + size);
        count(1);
        assert_nn_ok(nn_model_load_into(image.data, image.size, max_batch, at,
                                        size, &net, msg, sizeof msg));
        assert_int_equal(nn_net_set_threads(net, 2), NN_ESTATE); /* no pool */
        memcpy(nn_net_input(net)->x, x, sample * (size_t)batch * sizeof(float));
        assert_nn_ok(nn_net_forward(net, batch));
        assert_int_equal(nn_tensor_count(nn_net_output(net)), floats);
        assert_memory_equal(nn_net_output(net)->x, expected,
                            floats * sizeof(float));
        assert_nn_ok(nn_net_softmax(net)); /* no labels */
        assert_memory_equal(nn_net_probs(net), expected + floats,
                            floats * sizeof(float));
        assert_nn_ok(nn_net_check_finite(net, msg, sizeof msg));
        assert_nn_ok(nn_net_forward(net, batch)); /* shared memory reused */
        assert_memory_equal(nn_net_output(net)->x, expected,
                            floats * sizeof(float));
        nn_net_destroy(net); /* frees nothing */
        count(0);
        assert_no_allocation(misaligned ? "load, forward, misaligned"
                                        : "load, forward");
        assert_true((unsigned char *)net >= at &&
                    (unsigned char *)net < at + size);
        assert_true(guard_intact(at + size));
    }
    free(buffer);
    free(expected);
    free(x);
    free(image.data);
}

/* A net with every kind of layer, joins included. */
#define EVERY_KIND "conv3x3x4p1,bn,relu@a,conv3x3x4p1,sigmoid,add(a),"    \
                   "leakyrelu0.1@b,conv1x1x4(a),tanh,concat(b),pool2,"      \
                   "avgpool2s1p1,dropout0.5,conv3x3x6p1,gap,dense5"

static void test_counter_sees_allocations(void **state)
{
    void *volatile p; /* kept: a malloc and free pair may be elided */
    (void)state;
#ifndef NN_TEST_NO_COUNTING
    count(1);
    p = malloc(16);
    count(0);
    assert_int_equal(allocations, 1);
#else
    p = malloc(16);
#endif
    free(p);
}

static void test_models_in_their_buffers(void **state)
{
    (void)state;
    check_model("lenet", 1, 28, 28, 1);
    check_model("lenet", 1, 28, 28, 3);
    check_model("deep-bn", 3, 32, 32, 1);
    check_model("resnet-small", 3, 32, 32, 2);
    check_model(EVERY_KIND, 3, 12, 12, 1);
    check_model(EVERY_KIND, 3, 12, 12, 4);
    check_model("dense7", 2, 1, 1, 1); /* one layer: input and output only */
}

/* The figures the README quotes: bytes at batches of 1 and 64. */
static void test_sizes(void **state)
{
    const char *specs[] = {"lenet", "deep", "resnet20"};
    const int sides[] = {28, 32, 32}, channels[] = {1, 3, 3};
    (void)state;
    for (int i = 0; i < 3; i++) {
        nn_le_buffer image = make_image(specs[i], channels[i], sides[i],
                                        sides[i]);
        size_t one, many;
        assert_nn_ok(nn_infer_size(image.data, image.size, 1, &one));
        assert_nn_ok(nn_infer_size(image.data, image.size, 64, &many));
        print_message("  %s: %zu bytes at batch 1, %zu at batch 64\n",
                      specs[i], one, many);
        assert_true(one < many);
        free(image.data);
    }
}

/* Replaces the CRC after a change, so that the change itself is judged. */
static void fix_crc(unsigned char *data, size_t size)
{
    uint32_t crc = tu_crc32(data, size - 4);
    for (int i = 0; i < 4; i++)
        data[size - 4 + i] = (unsigned char)(crc >> (8 * i));
}

/* The image is refused with status `want` by nn_model_load_into (and by
 * nn_infer_size when sized, else it only sizes it), without a write past
 * a buffer that would hold the intact model. */
static void check_refused_sized(const unsigned char *data, size_t size,
                                size_t room, nn_status want, int sized)
{
    unsigned char *buffer = aligned_alloc(NN_BUFFER_ALIGN,
                                          (room + GUARD + NN_BUFFER_ALIGN) /
                                              NN_BUFFER_ALIGN * NN_BUFFER_ALIGN);
    nn_net *net = NULL;
    size_t need = 1;
    char msg[256];
    assert_non_null(buffer);
    set_guard(buffer + room);
    if (sized) {
        assert_int_equal(nn_infer_size(data, size, 1, &need), want);
        assert_int_equal(need, 0);
    } else {
        assert_nn_ok(nn_infer_size(data, size, 1, &need));
        assert_int_equal(need, room);
    }
    assert_int_equal(nn_model_load_into(data, size, 1, buffer, room, &net, msg,
                                        sizeof msg), want);
    assert_null(net);
    assert_true(msg[0] != '\0');
    assert_true(guard_intact(buffer + room));
    free(buffer);
}

static void check_refused(const unsigned char *data, size_t size,
                          size_t room, nn_status want)
{
    check_refused_sized(data, size, room, want, 1);
}

static void test_hostile_images_refused(void **state)
{
    nn_le_buffer image = make_image("lenet", 1, 28, 28);
    unsigned char *copy = malloc(image.size);
    size_t room = 0, cuts[] = {0, 1, 7, 8, 30, 52, 60, 200, 5000, 0};
    (void)state;
    assert_non_null(copy);
    assert_nn_ok(nn_infer_size(image.data, image.size, 1, &room));
    cuts[9] = image.size - 1;
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        check_refused(image.data, cuts[i], room, NN_EFORMAT);
    }
    /* an absurd parameter count after the spec, CRC fixed */
    memcpy(copy, image.data, image.size);
    {
        size_t spec_len = (size_t)copy[48] | (size_t)copy[49] << 8;
        memset(copy + 52 + spec_len, 0xff, 8);
    }
    fix_crc(copy, image.size);
    check_refused(copy, image.size, room, NN_EFORMAT);
    /* a huge input shape, CRC fixed */
    memcpy(copy, image.data, image.size);
    memset(copy + 12, 0x7f, 4);
    fix_crc(copy, image.size);
    check_refused(copy, image.size, room, NN_EFORMAT);
    /* a flipped byte in the weights */
    memcpy(copy, image.data, image.size);
    copy[image.size / 2] ^= 0x40;
    check_refused(copy, image.size, room, NN_EFORMAT);
    /* a NaN weight, CRC fixed: the loader's value check (the size is
     * that of a sound model) */
    memcpy(copy, image.data, image.size);
    memset(copy + image.size - 100, 0xff, 4);
    fix_crc(copy, image.size);
    check_refused_sized(copy, image.size, room, NN_EFORMAT, 0);
    /* a gzip'd image */
    copy[0] = 0x1f;
    copy[1] = 0x8b;
    check_refused(copy, image.size, room, NN_EFORMAT);
    /* a tiny buffer: not even the net fits */
    {
        unsigned char small[64 + GUARD];
        nn_net *net = NULL;
        char msg[256];
        set_guard(small + 64);
        assert_int_equal(nn_model_load_into(image.data, image.size, 1, small,
                                            64, &net, msg, sizeof msg),
                         NN_ENOMEM);
        assert_non_null(strstr(msg, "the buffer holds 64 bytes; this model "
                                    "needs "));
        assert_true(guard_intact(small + 64));
    }
    free(copy);
    free(image.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_sees_allocations),
        cmocka_unit_test(test_models_in_their_buffers),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_hostile_images_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
