/* Architecture specs and model files: every token kind and preset, bad
 * specs, spec round trips, bit-exact save/load, corrupt files refused, and
 * failed saves that leave the old file alone. Files live in a mkdtemp dir. */
#include "gradcheck.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_dir[] = "/tmp/nn_test_model.XXXXXX";

/* Where the spec starts: magic 8, version 4, shape 12, normalization 24,
 * spec length 4 (docs/FORMAT.md). */
#define SPEC_AT 52

static void store_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t load_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Rewrites the trailing CRC of a file image after an edit. */
static void fix_crc(unsigned char *data, size_t size)
{
    store_le(data + size - 4, tu_crc32(data, size - 4), 4);
}

/* A net for shape (c, h, w) from spec, built for max_batch with seed 1. */
static nn_net *make_net(const char *spec, int c, int h, int w, int max_batch)
{
    return tu_net(spec, c, h, w, max_batch, 1);
}

/* Asserts that the net describes itself as spec. */
static void assert_spec(const nn_net *net, const char *spec)
{
    char buf[1024];
    assert_nn_ok(nn_net_spec(net, buf, sizeof buf));
    assert_string_equal(buf, spec);
}

/* ------------------------------------------------------------------ specs */

static void test_spec_every_token_kind(void **state)
{
    /* Input 2x17x15. conv 3x5, 4 filters, stride 2, pad 1:
     * (17 + 2 - 3) / 2 + 1 = 9 by (15 + 2 - 5) / 2 + 1 = 7, 4*2*3*5 + 4 =
     * 124 params; bn 2*4 = 8 params and 8 state; pool3s2: (9-3)/2+1 = 4 by
     * (7-3)/2+1 = 3; pool2: 2 by 1, 8 features; dense7: 7*8 + 7 = 63.
     * Total 124 + 8 + 63 = 195 params, 8 state. */
    static const struct {
        const char *kind;
        int c, h, w;
        size_t params, state;
    } want[] = {
        {"conv2d", 4, 9, 7, 124, 0}, {"relu", 4, 9, 7, 0, 0},
        {"sigmoid", 4, 9, 7, 0, 0},  {"tanh", 4, 9, 7, 0, 0},
        {"batchnorm", 4, 9, 7, 8, 8}, {"maxpool", 4, 4, 3, 0, 0},
        {"maxpool", 4, 2, 1, 0, 0},  {"dense", 7, 1, 1, 63, 0},
    };
    nn_net *net = make_net(
        " conv3x5x4s2p1,relu , sigmoid,\ttanh,bn,pool3s2,pool2,dense7\n", 2,
        17, 15, 1);
    (void)state;
    assert_int_equal(nn_net_layer_count(net), 8);
    for (int i = 0; i < 8; i++) {
        nn_layer_info info;
        assert_nn_ok(nn_net_layer_info(net, i, &info));
        assert_string_equal(info.kind, want[i].kind);
        assert_int_equal(info.out_c, want[i].c);
        assert_int_equal(info.out_h, want[i].h);
        assert_int_equal(info.out_w, want[i].w);
        assert_int_equal(info.params, want[i].params);
        assert_int_equal(info.state, want[i].state);
    }
    assert_int_equal(nn_net_param_count(net), 195);
    assert_int_equal(nn_net_state_count(net), 8);
    assert_spec(net, "conv3x5x4s2p1,relu,sigmoid,tanh,bn,pool3s2,pool2,dense7");
    nn_net_destroy(net);
}

static void test_spec_presets(void **state)
{
    /* Parameter counts by hand (conv: filters*(in_c*k*k) + filters;
     * dense: out*in + out; bn: 2 per channel, plus 2 of state):
     * mlp on 1x28x28: 100*784+100 + 10*100+10 = 78500 + 1010 = 79510.
     * lenet on 1x28x28: conv 16*25+16 = 416, pool to 14x14, conv
     *   16*16*25+16 = 6416, pool to 7x7 (16*49 = 784), dense 10*784+10 =
     *   7850: 416 + 6416 + 7850 = 14682.
     * deep on 1x28x28 (no padding): 64*9+64 = 640 (26x26), 64*64*9+64 =
     *   36928 (24x24), pool 12x12, 128*64*9+128 = 73856 (10x10),
     *   128*128*9+128 = 147584 (8x8), pool 4x4 (2048), 256*2048+256 =
     *   524544, 10*256+10 = 2570: total 786122.
     * deep-bn: deep + bn on 64, 64, 128, 128, 256 channels = 2*640 = 1280
     *   params (787402) and 1280 state.
     * vgg on 3x32x32: convs 32*27+32 = 896, 32*32*9+32 = 9248,
     *   64*32*9+64 = 18496, 64*64*9+64 = 36928, 73856, 147584; pools to
     *   16, 8, 4 (128*16 = 2048); dense 128*2048+128 = 262272 and
     *   10*128+10 = 1290; bn 2*(32+32+64+64+128+128+128) = 1152.
     *   896+9248+18496+36928+73856+147584+262272+1290 = 550570 + 1152 =
     *   551722 params, 1152 state.
     * resnet20 on 3x32x32: stem 16*27+16 = 448; stage 1: six convs of
     *   16*16*9+16 = 2320 (13920); stage 2: 32*16*9+32 = 4640, 9248,
     *   projection 32*16+32 = 544, four more of 32*32*9+32 = 9248
     *   (36992); stage 3: 18496, 36928, projection 64*32+64 = 2112, four
     *   more of 36928 (147712); dense 10*64+10 = 650: 271690; bn on
     *   16 (7 of them), 32 (7), 64 (7): 2*(112+224+448) = 1568 params and
     *   state: 273258 params.
     * resnet-small on 1x28x28: stem 16*9+16 = 160; block 2*2320 = 4640;
     *   4640+9248+544 = 14432; 2*9248 = 18496; 18496+36928+2112 = 57536;
     *   2*36928 = 73856; dense 650: 169770; bn on 16 (3), 32 (5), 64 (5):
     *   2*(48+160+320) = 1056: 170826 params, 1056 state. */
    static const struct {
        const char *name;
        int c, h, w, layers;
        size_t params, state;
    } presets[] = {
        {"mlp", 1, 28, 28, 3, 79510, 0},
        {"lenet", 1, 28, 28, 7, 14682, 0},
        {"deep", 1, 28, 28, 13, 786122, 0},
        {"deep-bn", 1, 28, 28, 18, 787402, 1280},
        {"vgg", 3, 32, 32, 25, 551722, 1152},
        {"resnet20", 3, 32, 32, 72, 273258, 1568},
        {"resnet-small", 1, 28, 28, 44, 170826, 1056},
    };
    (void)state;
    assert_string_equal(nn_spec_preset("mlp"), "dense100,relu,dense10");
    assert_string_equal(nn_spec_preset("lenet"),
                        "conv5x5x16p2,relu,pool2,conv5x5x16p2,relu,pool2,dense10");
    assert_null(nn_spec_preset("alexnet"));
    assert_null(nn_spec_preset("LENET"));
    assert_null(nn_spec_preset(""));
    assert_null(nn_spec_preset(NULL));
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        nn_net *net = make_net(presets[i].name, presets[i].c, presets[i].h,
                               presets[i].w, 1);
        nn_tensor *out;
        assert_int_equal(nn_net_layer_count(net), presets[i].layers);
        assert_int_equal(nn_net_param_count(net), presets[i].params);
        assert_int_equal(nn_net_state_count(net), presets[i].state);
        assert_spec(net, nn_spec_preset(presets[i].name));
        /* One image: in inference mode (training-mode batchnorm after a
         * dense layer needs two, see test_batchnorm_needs_two_values). */
        nn_net_set_training(net, 0);
        assert_nn_ok(nn_net_forward(net, 1));
        out = nn_net_output(net);
        assert_int_equal(out->c * out->h * out->w, 10);
        nn_net_destroy(net);
    }
}

static void test_spec_preset_name_with_blanks(void **state)
{
    nn_net *net = make_net("  lenet\n", 1, 28, 28, 1);
    (void)state;
    assert_spec(net, nn_spec_preset("lenet"));
    nn_net_destroy(net);
}

static void test_bad_specs(void **state)
{
    static const struct {
        const char *spec;
        nn_status status;
        const char *msg; /* expected part of the message */
    } cases[] = {
        {"", NN_EINVAL, "spec token 1 '': empty layer"},
        {"   ", NN_EINVAL, "spec token 1 '': empty layer"},
        {"relu,,dense10", NN_EINVAL, "spec token 2 '': empty layer"},
        {"dense10,", NN_EINVAL, "spec token 2 '': empty layer"},
        {"relu,relu,conv3x3", NN_EINVAL,
         "spec token 3 'conv3x3': expected convKxKxN[sS][pP]"},
        {"conv", NN_EINVAL, "expected convKxKxN"},
        {"conv3x3x0", NN_EINVAL, "filter count 0 is out of range 1..65536"},
        {"conv0x3x4", NN_EINVAL, "kernel height 0 is out of range"},
        {"conv3x3x4s0", NN_EINVAL, "stride 0 is out of range"},
        {"conv3x3x4p", NN_EINVAL, "expected convKxKxN[sS][pP]"},
        {"conv3x3x4p1s2", NN_EINVAL, "found 's' at 12"},
        {"conv3x3x4q", NN_EINVAL, "found 'q' at 10"},
        {"conv3x3x4 p1", NN_EINVAL, "found ' ' at 10"},
        {"conv3x3x4p1025", NN_EINVAL, "padding 1025 is out of range 0..1024"},
        {"dense", NN_EINVAL, "spec token 1 'dense': expected denseN"},
        {"dense10x", NN_EINVAL, "found 'x' at 8"},
        {"dense-5", NN_EINVAL, "expected denseN, found '-' at 6"},
        {"dense 10", NN_EINVAL, "found ' '"},
        {"dense16777217", NN_EINVAL,
         "output count 16777217 is out of range 1..16777216"},
        {"dense99999999999999999999999", NN_EINVAL,
         "output count 999999999999... is out of range"},
        {"pool0", NN_EINVAL, "pool window 0 is out of range"},
        {"pool2s", NN_EINVAL, "spec token 1 'pool2s': expected poolK[sS][pP][c]"},
        {"pool2p2", NN_EINVAL, "padding 2 is out of range 0..1"},
        {"pool3s2p1e", NN_EINVAL, "expected poolK[sS][pP][c], found 'e' at 10"},
        {"pool3cc", NN_EINVAL, "found 'c' at 7"},
        {"pool3x2", NN_EINVAL, "a 3x2 window needs its stride sS"},
        {"avgpool3p3", NN_EINVAL, "padding 3 is out of range 0..2"},
        {"avgpool3x2s1p2", NN_EINVAL, "padding 2 is out of range 0..1"},
        {"avgpool3ec", NN_EINVAL, "expected avgpoolK[sS][pP][c][e], found 'c' at 10"},
        {"bneps0", NN_EINVAL, "epsilon 0 is out of range (0, 1]"},
        {"bneps1.5", NN_EINVAL, "epsilon 1.5 is out of range (0, 1]"},
        {"bneps1e-3", NN_EINVAL, "expected bn[epsE], found 'e' at 7"},
        {"bneps", NN_EINVAL, "expected bn[epsE]"},
        {"bn0.001", NN_EINVAL, "expected bn[epsE], found '0' at 3"},
        {"Relu", NN_EINVAL, "spec token 1 'Relu': unknown layer"},
        {"relu6", NN_EINVAL, "unknown layer"},
        {"relu,softmax", NN_EINVAL, "spec token 2 'softmax': unknown layer"},
        {"lenet,relu", NN_EINVAL, "spec token 1 'lenet': unknown layer"},
        {"mlp2", NN_EINVAL, "unknown layer"},
    };
    char msg[200];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_net *net = NULL;
        nn_status st;
        assert_nn_ok(nn_net_create(1, 28, 28, &net));
        st = nn_net_add_spec(net, cases[i].spec, msg, sizeof msg);
        if (st != cases[i].status || !strstr(msg, cases[i].msg))
            fail_msg("'%s': got %s '%s', expected %s '%s'", cases[i].spec,
                     nn_status_str(st), msg, nn_status_str(cases[i].status),
                     cases[i].msg);
        /* Nothing was added, and the net is still usable. */
        assert_int_equal(nn_net_layer_count(net), 0);
        assert_nn_ok(nn_net_add_spec(net, "dense3", NULL, 0));
        assert_nn_ok(nn_net_build(net, 1, 0));
        nn_net_destroy(net);
    }
}

static void test_bad_spec_arguments(void **state)
{
    nn_net *net = NULL;
    char msg[200], quoted[64], spec[4097 * 5 + 1];
    (void)state;
    assert_int_equal(nn_net_add_spec(NULL, "relu", msg, sizeof msg), NN_EINVAL);
    assert_string_equal(msg, "no net");
    assert_nn_ok(nn_net_create(1, 4, 4, &net));
    assert_int_equal(nn_net_add_spec(net, NULL, msg, sizeof msg), NN_EINVAL);
    assert_string_equal(msg, "no spec");
    /* A message buffer is optional, and a short one is cut, not overrun. */
    assert_int_equal(nn_net_add_spec(net, "relu,", NULL, 0), NN_EINVAL);
    assert_int_equal(nn_net_add_spec(net, "relu,", msg, 8), NN_EINVAL);
    assert_string_equal(msg, "spec to");
    /* A long token is quoted only in part. */
    memset(spec, '7', 100);
    memcpy(spec, "dense", 5);
    spec[100] = '\0';
    assert_int_equal(nn_net_add_spec(net, spec, msg, sizeof msg), NN_EINVAL);
    snprintf(quoted, sizeof quoted, "'%.40s...': ", spec);
    assert_non_null(strstr(msg, quoted));
    /* More layers than a net holds. */
    for (int i = 0; i < 4097; i++)
        memcpy(spec + 5 * i, ",relu", 6);
    assert_int_equal(nn_net_add_spec(net, spec + 1, msg, sizeof msg),
                     NN_EOVERFLOW);
    assert_non_null(strstr(msg, "more than 4096 layers"));
    assert_int_equal(nn_net_layer_count(net), 0);
    /* A built net takes no more layers. */
    assert_nn_ok(nn_net_add_spec(net, "dense2", msg, sizeof msg));
    assert_string_equal(msg, "");
    assert_nn_ok(nn_net_build(net, 1, 0));
    assert_int_equal(nn_net_add_spec(net, "relu", msg, sizeof msg), NN_ESTATE);
    assert_non_null(strstr(msg, "spec token 1 'relu': "));
    nn_net_destroy(net);
}

static void test_spec_round_trip(void **state)
{
    /* parse -> describe -> parse -> describe gives the same spec. */
    static const char *specs[] = {
        "mlp", "lenet", "deep", "deep-bn", "vgg",
        "conv3x5x4s2p1,tanh,pool3s2,conv1x1x2,sigmoid,pool1,dense3",
    };
    (void)state;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        char first[1024], second[1024];
        nn_net *a = make_net(specs[i], 3, 32, 32, 1), *b;
        assert_nn_ok(nn_net_spec(a, first, sizeof first));
        b = make_net(first, 3, 32, 32, 1);
        assert_nn_ok(nn_net_spec(b, second, sizeof second));
        assert_string_equal(first, second);
        assert_int_equal(nn_net_param_count(a), nn_net_param_count(b));
        if (i == 5)
            assert_string_equal(first, specs[i]);
        nn_net_destroy(a);
        nn_net_destroy(b);
    }
}

/* ------------------------------------------------------------ model files */

#define SMALL_SPEC "conv3x3x4p1,bn,relu,pool2,dense5,bn,tanh,dense3"

static const float small_mean[3] = {0.25f, 0.5f, 0.75f};
static const float small_std[3] = {1.5f, 0.125f, 2.0f};

/* A small net with batchnorm whose statistics moved away from 0 and 1 by
 * two training-mode passes, and an input normalization; its input holds 4
 * random samples. */
static nn_net *trained_small_net(void)
{
    nn_net *net = make_net(SMALL_SPEC, 2, 6, 5, 4);
    nn_tensor *in = nn_net_input(net);
    nn_rng rng;
    assert_nn_ok(nn_net_set_normalization(net, small_mean, small_std));
    nn_rng_seed(&rng, 99);
    gc_fill_normal(in->x, nn_tensor_count(in), 1.0f, &rng);
    assert_nn_ok(nn_net_forward(net, 4));
    assert_nn_ok(nn_net_forward(net, 4));
    return net;
}

static void test_save_load_bit_exact(void **state)
{
    const char *path = tu_path(tmp_dir, "small.nn");
    nn_net *net = trained_small_net(), *loaded = NULL;
    size_t params = nn_net_param_count(net), state_count, size;
    int c, h, w;
    char msg[200];
    float mean[3], std[3];
    const float *expect;
    unsigned char *bytes;
    struct stat st;
    (void)state;
    state_count = nn_net_state_count(net);
    assert_true(state_count > 0);
    assert_nn_ok(nn_model_save(net, path, msg, sizeof msg));
    assert_string_equal(msg, "");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(tu_count_entries(tmp_dir, ".tmp."), 0);
    if (nn_model_load(path, 3, &loaded, msg, sizeof msg) != NN_OK)
        fail_msg("load: %s", msg);
    assert_int_equal(nn_net_max_batch(loaded), 3);
    nn_net_input_shape(loaded, &c, &h, &w);
    assert_int_equal(c * 100 + h * 10 + w, 265);
    assert_spec(loaded, SMALL_SPEC);
    nn_net_normalization(loaded, mean, std);
    assert_memory_equal(mean, small_mean, sizeof mean);
    assert_memory_equal(std, small_std, sizeof std);
    assert_int_equal(nn_net_param_count(loaded), params);
    assert_int_equal(nn_net_state_count(loaded), state_count);
    assert_memory_equal(nn_net_params(loaded), nn_net_params(net),
                        params * sizeof(float));
    assert_memory_equal(nn_net_state(loaded), nn_net_state(net),
                        state_count * sizeof(float));
    /* The same input through both nets in inference mode. */
    nn_net_set_training(net, 0);
    nn_net_set_training(loaded, 0);
    memcpy(nn_net_input(loaded)->x, nn_net_input(net)->x,
           3 * 2 * 6 * 5 * sizeof(float));
    assert_nn_ok(nn_net_forward(net, 3));
    assert_nn_ok(nn_net_forward(loaded, 3));
    expect = nn_net_output(net)->x;
    assert_memory_equal(nn_net_output(loaded)->x, expect, 3 * 3 * sizeof(float));
    /* The layout of docs/FORMAT.md, byte by byte. */
    bytes = tu_read_file(path, &size);
    assert_int_equal(size, SPEC_AT + strlen(SMALL_SPEC) + 8 + 4 * params + 8 +
                               4 * state_count + 4);
    assert_memory_equal(bytes, "NNMODEL\0", 8);
    assert_int_equal(load_le(bytes + 8, 4), 2);
    assert_int_equal(load_le(bytes + 12, 4), 2);
    assert_int_equal(load_le(bytes + 16, 4), 6);
    assert_int_equal(load_le(bytes + 20, 4), 5);
    assert_int_equal(load_le(bytes + 24, 4), 0x3e800000u); /* mean[0] 0.25 */
    assert_int_equal(load_le(bytes + 44, 4), 0x40000000u); /* std[2] 2 */
    assert_int_equal(load_le(bytes + 48, 4), strlen(SMALL_SPEC));
    assert_memory_equal(bytes + SPEC_AT, SMALL_SPEC, strlen(SMALL_SPEC));
    assert_int_equal(load_le(bytes + SPEC_AT + strlen(SMALL_SPEC), 8), params);
    {
        const unsigned char *p = bytes + SPEC_AT + strlen(SMALL_SPEC) + 8;
        uint32_t bits;
        memcpy(&bits, &nn_net_params(net)[params - 1], 4);
        assert_int_equal(load_le(p + 4 * (params - 1), 4), bits);
    }
    assert_int_equal(load_le(bytes + size - 4, 4), tu_crc32(bytes, size - 4));
    free(bytes);
    nn_net_destroy(loaded);
    nn_net_destroy(net);
}

/* A graph (a residual add, a concat of the input, a projection read by
 * name) saves as a version 2 file and loads to the same function; a
 * version 1 file (the same bytes numbered 1) of a chain still loads, and
 * one whose spec names inputs is refused. */
#define GRAPH_SPEC "conv3x3x4p1,bn,relu@a,conv3x3x4p1,bn,add(a)@sum," \
                   "conv1x1x4(a),concat(sum,l6,input),relu,dense3"
static void test_graph_save_load(void **state)
{
    const char *path = tu_path(tmp_dir, "graph.nn");
    nn_net *net = make_net(GRAPH_SPEC, 2, 6, 5, 3), *loaded = NULL;
    unsigned char *bytes;
    size_t size, floats = 3 * 2 * 6 * 5;
    char msg[200];
    (void)state;
    assert_spec(net, "conv3x3x4p1,bn,relu@a,conv3x3x4p1,bn,add(a)@sum,"
                     "conv1x1x4(a)@l6,concat(sum,l6,input),relu,dense3");
    for (size_t i = 0; i < floats; i++)
        nn_net_input(net)->x[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
    assert_nn_ok(nn_model_save(net, path, msg, sizeof msg));
    if (nn_model_load(path, 3, &loaded, msg, sizeof msg) != NN_OK)
        fail_msg("load: %s", msg);
    assert_spec(loaded, "conv3x3x4p1,bn,relu@a,conv3x3x4p1,bn,add(a)@sum,"
                        "conv1x1x4(a)@l6,concat(sum,l6,input),relu,dense3");
    nn_net_set_training(net, 0);
    nn_net_set_training(loaded, 0);
    memcpy(nn_net_input(loaded)->x, nn_net_input(net)->x, floats * sizeof(float));
    assert_nn_ok(nn_net_forward(net, 3));
    assert_nn_ok(nn_net_forward(loaded, 3));
    assert_memory_equal(nn_net_output(loaded)->x, nn_net_output(net)->x,
                        3 * 3 * sizeof(float));
    nn_net_destroy(loaded);
    loaded = NULL;
    bytes = tu_read_file(path, &size);
    assert_int_equal(load_le(bytes + 8, 4), 2);
    store_le(bytes + 8, 1, 4);
    fix_crc(bytes, size);
    tu_write_file(path, bytes, size);
    assert_int_equal(nn_model_load(path, 1, &loaded, msg, sizeof msg), NN_EFORMAT);
    assert_non_null(strstr(msg, "version 1 file holds a chain"));
    free(bytes);
    nn_net_destroy(net);
    /* a chain numbered 1, as libnn wrote it before graphs */
    net = make_net("conv3x3x4,relu,dense3", 2, 6, 5, 1);
    assert_nn_ok(nn_model_save(net, path, msg, sizeof msg));
    bytes = tu_read_file(path, &size);
    store_le(bytes + 8, 1, 4);
    fix_crc(bytes, size);
    tu_write_file(path, bytes, size);
    if (nn_model_load(path, 1, &loaded, msg, sizeof msg) != NN_OK)
        fail_msg("version 1: %s", msg);
    assert_spec(loaded, "conv3x3x4,relu,dense3");
    assert_memory_equal(nn_net_params(loaded), nn_net_params(net),
                        nn_net_param_count(net) * sizeof(float));
    free(bytes);
    nn_net_destroy(loaded);
    nn_net_destroy(net);
}

/* Every layer option travels through a model file (the spec string) and a
 * checkpoint: max pooling with padding and in ceil mode, average pooling
 * not counting its padding and in ceil mode, a rectangular window, and
 * batchnorm with Keras's epsilon. The loaded net has the canonical spec
 * and, in inference mode, the same outputs bit for bit. */
static void test_save_load_layer_options(void **state)
{
    static const char *spec = "conv3x3x4p1,bneps0.001,relu,pool3s2p1,"
                              "avgpool3s2p1ce,pool2c,avgpool2x1s1,"
                              "dense6,bneps0.0001,dense3";
    const char *path = tu_path(tmp_dir, "options.nn");
    const char *ckpt = tu_path(tmp_dir, "options.ckpt");
    nn_net *net = make_net(spec, 2, 11, 10, 4), *loaded = NULL;
    nn_optim *opt = NULL;
    nn_train_state ts;
    char msg[200];
    nn_rng rng;
    (void)state;
    assert_spec(net, spec);
    nn_rng_seed(&rng, 7);
    gc_fill_normal(nn_net_input(net)->x, nn_tensor_count(nn_net_input(net)),
                   1.0f, &rng);
    assert_nn_ok(nn_net_forward(net, 4)); /* statistics move off 0 and 1 */
    nn_net_set_training(net, 0);
    assert_nn_ok(nn_net_forward(net, 4));
    for (int file = 0; file < 2; file++) {
        if (file == 0) {
            assert_nn_ok(nn_model_save(net, path, msg, sizeof msg));
            if (nn_model_load(path, 4, &loaded, msg, sizeof msg) != NN_OK)
                fail_msg("load: %s", msg);
        } else {
            nn_optim_settings settings = tu_sgd(0.1f, 0.9f, 0.0f);
            memset(&ts, 0, sizeof ts);
            assert_nn_ok(nn_optim_create(net, &settings, &opt));
            assert_nn_ok(nn_checkpoint_save(net, opt, &ts, ckpt, msg, sizeof msg));
            nn_optim_destroy(opt);
            opt = NULL;
            if (nn_checkpoint_load(ckpt, 4, &settings, &loaded, &opt, &ts, msg,
                                   sizeof msg) != NN_OK)
                fail_msg("checkpoint load: %s", msg);
            nn_optim_destroy(opt);
        }
        assert_spec(loaded, spec);
        nn_net_set_training(loaded, 0);
        memcpy(nn_net_input(loaded)->x, nn_net_input(net)->x,
               nn_tensor_count(nn_net_input(net)) * sizeof(float));
        assert_nn_ok(nn_net_forward(loaded, 4));
        assert_memory_equal(nn_net_output(loaded)->x, nn_net_output(net)->x,
                            4 * 3 * sizeof(float));
        nn_net_destroy(loaded);
        loaded = NULL;
    }
    nn_net_destroy(net);
}

static void test_save_load_preset(void **state)
{
    const char *path = tu_path(tmp_dir, "lenet.nn");
    nn_net *net = make_net("lenet", 1, 28, 28, 1), *loaded = NULL;
    (void)state;
    assert_nn_ok(nn_model_save(net, path, NULL, 0));
    /* Saving again replaces the file. */
    assert_nn_ok(nn_net_init(net, 5));
    assert_nn_ok(nn_model_save(net, path, NULL, 0));
    assert_nn_ok(nn_model_load(path, 1, &loaded, NULL, 0));
    assert_int_equal(nn_net_param_count(loaded), 14682);
    assert_memory_equal(nn_net_params(loaded), nn_net_params(net),
                        14682 * sizeof(float));
    assert_int_equal(tu_count_entries(tmp_dir, ".tmp."), 0);
    nn_net_destroy(loaded);
    nn_net_destroy(net);
}

/* Loads path expecting status st and a message containing part. */
static void assert_load_fails(const char *path, nn_status status,
                              const char *part)
{
    nn_net *net = (nn_net *)&net; /* any non-NULL value: load must reset it */
    char msg[300];
    nn_status st = nn_model_load(path, 2, &net, msg, sizeof msg);
    if (st != status || !strstr(msg, part))
        fail_msg("got %s '%s', expected %s '%s'", nn_status_str(st), msg,
                 nn_status_str(status), part);
    assert_null(net);
    assert_non_null(strstr(msg, path));
}

/* The bytes of a valid model file of a tiny net (dense2 with bn). */
static unsigned char *tiny_model(size_t *size, size_t *spec_end)
{
    const char *path = tu_path(tmp_dir, "tiny.nn");
    nn_net *net = make_net("dense2,bn", 1, 1, 3, 1);
    unsigned char *data;
    assert_nn_ok(nn_model_save(net, path, NULL, 0));
    nn_net_destroy(net);
    data = tu_read_file(path, size);
    /* header + 9 spec + 8 + 4*(8 + 4) params + 8 + 4*4 state + 4 CRC */
    assert_int_equal(*size, SPEC_AT + 9 + 8 + 48 + 8 + 16 + 4);
    *spec_end = SPEC_AT + 9;
    return data;
}

static void test_load_refuses_corrupt_files(void **state)
{
    const char *path = tu_path(tmp_dir, "bad.nn");
    size_t size, spec_end, cuts[9];
    unsigned char *good = tiny_model(&size, &spec_end);
    unsigned char *bad = malloc(size + 16);
    (void)state;
    assert_non_null(bad);

    memcpy(bad, good, size);
    bad[0] = 'X';
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "bad magic");
    tu_write_file(path, (const unsigned char *)"hello", 5);
    assert_load_fails(path, NN_EFORMAT, "bad magic");

    memcpy(bad, good, size);
    store_le(bad + 8, 3, 4);
    fix_crc(bad, size);
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "unsupported format version 3");
    memcpy(bad, good, size);
    store_le(bad + 8, 0, 4);
    fix_crc(bad, size);
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "unsupported format version 0");

    /* Truncated: empty, inside the magic, the shape, the normalization,
     * the spec, the param count, the params, the state, the CRC. */
    cuts[0] = 0;
    cuts[1] = 5;
    cuts[2] = 18;
    cuts[3] = SPEC_AT + 2;
    cuts[4] = spec_end + 3;
    cuts[5] = spec_end + 8 + 20;
    cuts[6] = size - 4 - 6;
    cuts[7] = size - 1;
    cuts[8] = 30;
    for (int i = 0; i < 9; i++) {
        tu_write_file(path, good, cuts[i]);
        assert_load_fails(path, NN_EFORMAT, "truncated");
    }

    /* Every single flipped byte is caught (most by the CRC). */
    for (size_t i = 0; i < size; i++) {
        nn_net *net = NULL;
        memcpy(bad, good, size);
        bad[i] ^= 0x5a;
        tu_write_file(path, bad, size);
        assert_int_not_equal(nn_model_load(path, 1, &net, NULL, 0), NN_OK);
        assert_null(net);
    }
    memcpy(bad, good, size);
    bad[spec_end + 8 + 5] ^= 1;
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "checksum mismatch");

    /* Trailing garbage. */
    memcpy(bad, good, size);
    memcpy(bad + size, "garbage", 7);
    tu_write_file(path, bad, size + 7);
    assert_load_fails(path, NN_EFORMAT, "7 trailing bytes");
    free(bad);
    free(good);
}

static void test_load_refuses_absurd_fields(void **state)
{
    const char *path = tu_path(tmp_dir, "absurd.nn");
    size_t size, spec_end;
    unsigned char *good = tiny_model(&size, &spec_end);
    unsigned char *bad = malloc(size);
    (void)state;
    assert_non_null(bad);

    /* Counts far beyond the file, with a valid CRC: refused before any
     * allocation of that size (ASan would abort on such a request). */
    static const uint64_t counts[] = {(uint64_t)1 << 60, (uint64_t)1 << 62,
                                      UINT64_MAX, 1000};
    for (int i = 0; i < 4; i++) {
        memcpy(bad, good, size);
        store_le(bad + spec_end, counts[i], 8);
        fix_crc(bad, size);
        tu_write_file(path, bad, size);
        assert_load_fails(path, NN_EFORMAT, "does not fit");
        memcpy(bad, good, size);
        store_le(bad + size - 4 - 16 - 8, counts[i], 8); /* state count */
        fix_crc(bad, size);
        tu_write_file(path, bad, size);
        assert_load_fails(path, NN_EFORMAT, "does not fit");
    }
    memcpy(bad, good, size);
    store_le(bad + SPEC_AT - 4, 0xffffffffu, 4);
    fix_crc(bad, size);
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "spec length 4294967295");

    /* Consistent layout, wrong contents. */
    memcpy(bad, good, size);
    store_le(bad + 12, 0, 4);
    fix_crc(bad, size);
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "input shape 0x1x3");
    memcpy(bad, good, size);
    store_le(bad + 40, 0, 4); /* std[1] = 0 */
    fix_crc(bad, size);
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "input normalization is not valid");
    memcpy(bad, good, size);
    memcpy(bad + SPEC_AT, "dense2,bx", 9);
    fix_crc(bad, size);
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "spec token 2 'bx': unknown layer");
    memcpy(bad, good, size);
    memcpy(bad + SPEC_AT, "dense3,bn", 9); /* 12 + 6 params, not 8 + 4 */
    fix_crc(bad, size);
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "12 parameters and 4 state values");
    memcpy(bad, good, size);
    memcpy(bad + SPEC_AT, "pool2,bn\0", 9); /* NUL inside the spec */
    fix_crc(bad, size);
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "NUL");
    memcpy(bad, good, size);
    memcpy(bad + SPEC_AT, "pool2,bn ", 9); /* 1x1x3 is too small for pool2 */
    fix_crc(bad, size);
    tu_write_file(path, bad, size);
    assert_load_fails(path, NN_EFORMAT, "does not fit input 1x1x3");
    free(bad);
    free(good);
}

static void test_load_bad_arguments(void **state)
{
    nn_net *net = NULL;
    char msg[200];
    (void)state;
    assert_load_fails(tu_path(tmp_dir, "missing.nn"), NN_EIO, "cannot open");
    assert_int_equal(nn_model_load(NULL, 1, &net, msg, sizeof msg), NN_EINVAL);
    assert_int_equal(nn_model_load("x", 1, NULL, msg, sizeof msg), NN_EINVAL);
    assert_int_equal(nn_model_load("x", 0, &net, msg, sizeof msg), NN_EINVAL);
    assert_null(net);
    assert_int_equal(nn_model_save(NULL, "x", msg, sizeof msg), NN_EINVAL);
    assert_nn_ok(nn_net_create(1, 2, 2, &net));
    assert_int_equal(nn_model_save(net, NULL, msg, sizeof msg), NN_EINVAL);
    assert_nn_ok(nn_net_add_dense(net, 2));
    assert_int_equal(nn_model_save(net, tu_path(tmp_dir, "unbuilt.nn"), msg, sizeof msg),
                     NN_ESTATE);
    assert_non_null(strstr(msg, "not built"));
    nn_net_destroy(net);
}

/* Asserts that path still holds exactly old[0..size). */
static void assert_file_is(const char *path, const unsigned char *old,
                           size_t size)
{
    size_t now_size;
    unsigned char *now = tu_read_file(path, &now_size);
    assert_int_equal(now_size, size);
    assert_memory_equal(now, old, size);
    free(now);
}

static void test_failed_save_keeps_old_file(void **state)
{
    char path[300], dir[256], msg[300];
    nn_net *old_net = make_net("dense2,bn", 1, 1, 3, 1);
    nn_net *new_net = make_net("mlp", 1, 28, 28, 1);
    unsigned char *old;
    size_t size;
    struct rlimit saved, small;
    (void)state;
    snprintf(dir, sizeof dir, "%s", tu_path(tmp_dir, "keep"));
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/model.nn", dir);
    assert_nn_ok(nn_model_save(old_net, path, NULL, 0));
    old = tu_read_file(path, &size);

    /* A path in a missing directory. */
    assert_int_equal(nn_model_save(new_net, tu_path(tmp_dir, "no/such/dir/m.nn"), msg,
                                   sizeof msg), NN_EIO);
    assert_non_null(strstr(msg, "cannot create a temporary file"));

    /* The write itself fails (a file-size limit, which binds root too):
     * the temporary file goes, the old file stays. */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    assert_int_equal(nn_model_save(new_net, path, msg, sizeof msg), NN_EIO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_non_null(strstr(msg, "write failed"));
    assert_file_is(path, old, size);
    assert_int_equal(tu_count_entries(dir, ".tmp."), 0);

    /* The rename fails: the target is a non-empty directory. */
    assert_int_equal(mkdir(tu_path(tmp_dir, "keep/taken"), 0700), 0);
    tu_write_file(tu_path(tmp_dir, "keep/taken/file"), old, size);
    assert_int_equal(nn_model_save(new_net, tu_path(tmp_dir, "keep/taken"), msg,
                                   sizeof msg), NN_EIO);
    assert_int_equal(tu_count_entries(dir, ".tmp."), 0);

    /* A directory without write permission (not binding for root). */
    assert_int_equal(chmod(dir, 0500), 0);
    if (access(dir, W_OK) != 0) {
        assert_int_equal(nn_model_save(new_net, path, msg, sizeof msg), NN_EIO);
        assert_file_is(path, old, size);
    }
    assert_int_equal(chmod(dir, 0700), 0);
    assert_file_is(path, old, size);
    assert_int_equal(tu_count_entries(dir, ".tmp."), 0);
    free(old);
    nn_net_destroy(old_net);
    nn_net_destroy(new_net);
}

/* A well-formed file of under 100 bytes whose spec asks for a huge net:
 * header, spec, zero parameters and state, CRC. */
static void write_tiny_file_for(const char *path, const char *spec)
{
    unsigned char file[256] = {0};
    size_t len = strlen(spec), at = SPEC_AT;
    const float std1 = 1.0f;
    memcpy(file, "NNMODEL", 8);
    store_le(file + 8, 1, 4);
    store_le(file + 12, 1, 4); /* c, h, w = 1, 8, 8 */
    store_le(file + 16, 8, 4);
    store_le(file + 20, 8, 4);
    for (int i = 0; i < 3; i++)
        memcpy(file + 36 + 4 * i, &std1, 4); /* mean 0, std 1 */
    store_le(file + SPEC_AT - 4, len, 4);
    memcpy(file + at, spec, len);
    at += len + 16; /* parameter count 0, state count 0 */
    fix_crc(file, at + 4);
    tu_write_file(path, file, at + 4);
}

static void test_small_file_cannot_ask_for_gigabytes(void **state)
{
    /* The counts are checked against a plan of the net before anything is
     * allocated, and one sample's activations are capped: these come back
     * at once (they used to allocate about 3 GB first). */
    const char *path = tu_path(tmp_dir, "greedy.nn");
    (void)state;
    write_tiny_file_for(path, "dense1000000");
    assert_load_fails(path, NN_EFORMAT, "its architecture has 65000000");
    write_tiny_file_for(path, "conv1x1x64p1024");
    assert_load_fails(path, NN_EFORMAT, "does not fit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_every_token_kind),
        cmocka_unit_test(test_spec_presets),
        cmocka_unit_test(test_spec_preset_name_with_blanks),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_bad_spec_arguments),
        cmocka_unit_test(test_spec_round_trip),
        cmocka_unit_test(test_save_load_bit_exact),
        cmocka_unit_test(test_save_load_layer_options),
        cmocka_unit_test(test_save_load_preset),
        cmocka_unit_test(test_graph_save_load),
        cmocka_unit_test(test_load_refuses_corrupt_files),
        cmocka_unit_test(test_load_refuses_absurd_fields),
        cmocka_unit_test(test_small_file_cannot_ask_for_gigabytes),
        cmocka_unit_test(test_load_bad_arguments),
        cmocka_unit_test(test_failed_save_keeps_old_file),
    };
    return TU_RUN_IN_DIR(tests, tmp_dir);
}
