/* Helpers shared by the libFuzzer targets in tests/fuzz (not part of libnn).
 *
 * The loaders take paths, so inputs reach them through memory-backed files
 * (memfd, opened again as /proc/self/fd/N): nothing touches the disk and
 * nothing is left behind. Inputs that carry two files are cut in two by a
 * small header; gzip wrapping sends a file through the loaders' gzip path. */
#ifndef NN_FUZZ_UTIL_H
#define NN_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

/* Most floats a target lets a net built from fuzz input allocate, and most
 * multiply-adds a forward pass may cost: keeps every run fast and small. */
#define FUZZ_MAX_FLOATS (4u << 20)
#define FUZZ_MAX_MACS (8u << 20)

/* Stops the run loudly: libFuzzer records the input as a crash. */
#define FUZZ_CHECK(cond)                                                    \
    do {                                                                    \
        if (!(cond))                                                        \
            __builtin_trap();                                               \
    } while (0)

/* An input cut as [mode][len: u16 little-endian][part 0: len bytes][part 1]
 * (len is clamped to what is there). */
typedef struct {
    unsigned mode;
    const uint8_t *part[2];
    size_t size[2];
} fuzz_parts;

/* Cuts data into mode and two parts (empty parts when it is too short). */
void fuzz_split(const uint8_t *data, size_t size, fuzz_parts *out);

/* Replaces the contents of memory file `slot` (0..3) by data and returns a
 * path that opens it; gzip != 0 first wraps data in a gzip member of stored
 * DEFLATE blocks. NULL if the file cannot be made. */
const char *fuzz_file(int slot, const uint8_t *data, size_t size, int gzip);

/* A fresh private directory under /tmp for files written by the library
 * (model saves need a real directory to rename in); removed at exit. */
const char *fuzz_temp_dir(void);

/* What building a net for batches of 1 costs, worked out from its spec. */
typedef struct {
    double floats; /* upper estimate of what nn_net_build allocates */
    double macs;   /* multiply-adds of one forward pass */
    double params; /* trainable parameters, exactly */
} fuzz_cost;

/* The cost of a canonical spec (as nn_net_spec writes it) on input
 * (c, h, w). Returns 0 when a layer does not fit its input, in which case
 * nn_net_build refuses the net before it allocates anything. */
int fuzz_spec_cost(const char *spec, int c, int h, int w, fuzz_cost *out);

/* 1 when a cost is small enough for a fuzz run. */
int fuzz_affordable(const fuzz_cost *cost);

/* Room for the longest canonical spec: 4096 layers of at most 29 bytes
 * ("conv1024x1024x65536s1024p1024") and their commas. */
#define FUZZ_SPEC_MAX (4096 * 30 + 1)

/* The net's canonical spec in a new string (free with free()), or NULL. */
char *fuzz_spec_of(const nn_net *net);

/* 1 when two nets have the same spec, parameters and state, bit for bit. */
int fuzz_same_net(nn_net *a, nn_net *b);

/* 1 when building the (unbuilt) net is cheap enough for a fuzz run. */
int fuzz_net_affordable(const nn_net *net);

#endif
