/* A structure-aware mutator for libFuzzer targets whose input is a Protocol
 * Buffers message (tests/fuzz/pb_mutate.c; not part of libnn).
 *
 * The input is read as a tree of fields: every length-delimited field whose
 * bytes parse completely as a message is taken as one. One mutation, chosen
 * by the seed alone, changes the tree, which is then written back as valid
 * wire format: a varint set to a boundary value, a fixed32 set to a special
 * float, a field (with its sub-fields) duplicated, deleted, swapped with a
 * sibling, renumbered or copied into another message of the same kind, a
 * packed run unpacked, split or packed again, raw bytes moved to a float
 * field, a string replaced by another string of the input, the bytes of one
 * leaf mutated by libFuzzer, and varints named by the format's hints set to
 * the values they list. */
#ifndef NN_FUZZ_PB_MUTATE_H
#define NN_FUZZ_PB_MUTATE_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's own byte mutator (linked in by -fsanitize=fuzzer): data
 * mutated in place into at most max_size bytes; the new size. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Deepest path a hint names. */
#define PB_PATH_MAX 8

/* A varint field worth setting to chosen values, named by the field
 * numbers from the top message down to it (ONNX's opset version: 8, 2). */
typedef struct {
    int path[PB_PATH_MAX];
    int depth;
    const int64_t *values;
    int n_values;
} pb_varint_hint;

/* What the mutator knows of the format; every part is optional (zeros). */
typedef struct {
    const pb_varint_hint *varints;
    int n_varints;
    /* raw little-endian floats in field raw_field of a message may move to
     * field float_field of the same message (packed or one fixed32 field
     * per value) and back; 0 for none */
    int raw_field, float_field;
} pb_hints;

/* Mutates the message data[0, size) in place into at most max_size bytes
 * with one mutation chosen by seed. Returns the new size, or 0 when data is
 * not a protobuf message or no mutation fitted (the caller then mutates the
 * bytes some other way). */
size_t pb_mutate(uint8_t *data, size_t size, size_t max_size, unsigned seed,
                 const pb_hints *hints);

/* Writes into out (at most max_out bytes) the message data1 with one field
 * of data2 (with its sub-fields) added to, or put in place of a field of
 * the same number in, a message of data1 at the same path. Returns the
 * size written, or 0 when either input is not a message or nothing fits. */
size_t pb_cross_over(const uint8_t *data1, size_t size1, const uint8_t *data2,
                     size_t size2, uint8_t *out, size_t max_out, unsigned seed);

#endif
