/* Helpers the test programs share: temporary directories, whole-file
 * reads and writes, an independent CRC-32, generated datasets and the
 * PyTorch reference fixtures. */
#ifndef NN_TESTUTIL_H
#define NN_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

struct CMUnitTest;
/* Runs a cmocka group inside a new directory made by mkdtemp from
 * template_path ("/tmp/nn_x.XXXXXX", filled in), then removes the directory
 * with everything in it; the tests find it in template_path. Returns the
 * number of failed tests (1 when the directory cannot be made). */
int tu_run_in_dir(const char *name, const struct CMUnitTest *tests,
                  size_t count, char *template_path);
#define TU_RUN_IN_DIR(tests, template_path)                                 \
    tu_run_in_dir(#tests, tests, sizeof(tests) / sizeof((tests)[0]),       \
                  template_path)
/* Removes dir with every file and subdirectory in it. */
void tu_remove_tree(const char *dir);
/* dir/name in a static buffer (valid until the next call). */
const char *tu_path(const char *dir, const char *name);
/* Entries of dir whose name contains `part` ("" counts every entry). */
int tu_count_entries(const char *dir, const char *part);
/* A whole file in a new buffer (free with free()); fails the test if it
 * cannot be read. */
unsigned char *tu_read_file(const char *path, size_t *size);
/* Writes size bytes to path; fails the test on any error. */
void tu_write_file(const char *path, const unsigned char *data, size_t size);
/* CRC-32 (zlib's), computed bit by bit: an oracle independent of libnn's. */
uint32_t tu_crc32(const unsigned char *data, size_t size);
/* count grey images of side x side over `classes` classes: class k lights
 * horizontal band k of the image on noise. Free with nn_dataset_free. */
void tu_make_dataset(nn_dataset *d, int count, int side, int classes,
                     uint64_t seed);

/* A net for inputs (c, h, w) from spec, built for max_batch from seed;
 * fails the test, with the spec parser's message, when it cannot. */
nn_net *tu_net(const char *spec, int c, int h, int w, int max_batch,
               uint64_t seed);
/* SGD settings (PyTorch's momentum convention), the rest at defaults. */
nn_optim_settings tu_sgd(float lr, float momentum, float weight_decay);
/* A new optimizer for net with settings s; fails the test if it cannot. */
nn_optim *tu_optim(nn_net *net, const nn_optim_settings *s);

/* A reference fixture (a .txt in tests/fixtures, written by a PyTorch script):
 * a comment line, then one line per entry: name count v1 v2 ... */
typedef struct {
    char name[32];
    int count;
    double *values; /* (count) */
} tu_fixture_entry;
typedef struct {
    tu_fixture_entry *entries;
    int count;
} tu_fixture;
/* Loads tests/fixtures/<file> below $NN_SOURCE_DIR (or "."); 0 on success,
 * -1 (with a message on stderr) when it is missing or malformed. */
int tu_fixture_load(tu_fixture *f, const char *file);
/* Frees the entries and zeroes f. */
void tu_fixture_free(tu_fixture *f);
/* The entry `name`, which must hold `count` values; fails the test if not. */
const tu_fixture_entry *tu_fixture_get(const tu_fixture *f, const char *name,
                                       int count);
/* max_i |a[i] - ref[i]| / max(|ref[i]|, 0.01) against entry `name`; prints
 * it and fails the test unless it is below tol. */
double tu_fixture_compare(const tu_fixture *f, const char *name,
                          const float *a, int count, double tol);

/* The tolerance between a net built for inference (batchnorm folded into
 * the weights before it, other kernels at small batches) and the same
 * weights run by a net built for training, in inference mode:
 * |a - b| <= TU_INFER_TOL * max(1, |a|, |b|) on every output. */
#define TU_INFER_TOL 1e-4
/* max_i |a[i] - b[i]| / max(1, |a[i]|, |b[i]|); fails the test (naming
 * what) when it is above tol or not finite. */
double tu_assert_outputs_close(const float *a, const float *b, size_t n,
                               double tol, const char *what);

#endif
