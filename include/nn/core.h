/* libnn's core (part of nn.h): version, status codes, random numbers and
 * the tensor view every other part uses. */
#ifndef NN_CORE_H
#define NN_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------- version
 * The same numbers as CMake's project(VERSION); configuring checks that. */

/* Major version: 0 while the API may still change. */
#define NN_VERSION_MAJOR 0
/* Minor version: before 1.0 it changes when the API does. */
#define NN_VERSION_MINOR 2
/* Patch version: fixes that keep the API. */
#define NN_VERSION_PATCH 0
/* The three numbers as a string, "MAJOR.MINOR.PATCH". */
#define NN_VERSION_STRING "0.2.0"

/* The version of the compiled library, e.g. "0.2.0" (compare with
 * NN_VERSION_STRING to catch a header that does not match the library). */
const char *nn_version(void);

/* ---------------------------------------------------------------- status */

/* Result of every fallible call. */
typedef enum {
    NN_OK = 0,      /* success */
    NN_ENOMEM,      /* out of memory */
    NN_EINVAL,      /* invalid argument (NULL, zero stride, bad value) */
    NN_ESHAPE,      /* shapes do not fit together */
    NN_EIO,         /* a file could not be opened, read or written */
    NN_EFORMAT,     /* a file's contents are malformed */
    NN_ENUMERIC,    /* NaN or infinity met */
    NN_ESTATE,      /* call not allowed in the object's current state */
    NN_EOVERFLOW    /* a size computation would overflow */
} nn_status;

/* A static, human-readable message for a status. */
const char *nn_status_str(nn_status status);

/* ---------------------------------------------------------- random numbers */

/* Explicit generator state (xoshiro256**); never shared implicitly. */
typedef struct {
    uint64_t s[4];
} nn_rng;

/* Seeds the generator from one 64-bit value (through splitmix64). */
void nn_rng_seed(nn_rng *rng, uint64_t seed);
/* Next 64 random bits. */
uint64_t nn_rng_next(nn_rng *rng);
/* Uniform float in [0, 1). */
float nn_rng_uniform(nn_rng *rng);
/* Standard normal float (Box-Muller). */
float nn_rng_normal(nn_rng *rng);
/* Uniform integer in [0, n); n must be > 0. */
uint32_t nn_rng_below(nn_rng *rng, uint32_t n);

/* ------------------------------------------------------------------ tensor */

/* A non-owning NCHW view: values x and gradients g (either may be NULL).
 * Dense activations use h = w = 1, so flattening never copies. */
typedef struct {
    float *x; /* (n, c, h, w) values */
    float *g; /* (n, c, h, w) dL/dx, same layout */
    int n, c, h, w;
} nn_tensor;

/* Number of elements n*c*h*w (0 for an invalid shape). */
size_t nn_tensor_count(const nn_tensor *t);

#ifdef __cplusplus
}
#endif

#endif /* NN_CORE_H */
