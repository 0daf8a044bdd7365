/* Reading one spec token (src/core/spec.c): the cursor and the small
 * readers a layer kind's parse function is written with. Whole specs and
 * presets are the net's (src/net/net_spec.c). */
#ifndef NN_CORE_SPEC_H
#define NN_CORE_SPEC_H

#include <stddef.h>

#include "nn.h"

/* A token [start, end) being parsed at p, with the grammar it must follow
 * and room to explain why it does not. */
typedef struct {
    const char *start, *p, *end;
    const char *grammar;
    char why[160];
} nn_spec_cursor;

/* Bounds on the numbers of a spec (the layers check their shapes later). */
#define NN_SPEC_MAX_SIDE 1024       /* kernel side, pool window, stride, padding */
#define NN_SPEC_MAX_FILTERS 65536   /* conv output channels */
#define NN_SPEC_MAX_DENSE (1 << 24) /* dense outputs */

/* Consumes text when the token continues with it. */
int nn_spec_accept(nn_spec_cursor *c, const char *text);
/* Consumes the character ch, or explains that it is missing; 0 then. */
int nn_spec_expect(nn_spec_cursor *c, char ch);
/* Reads a decimal integer in [min, max] into *out; 0 with an explanation
 * when there is none or it is out of range. */
int nn_spec_int(nn_spec_cursor *c, const char *what, int min, int max,
                int *out);
/* Reads a decimal fraction ("0.25", ".5", "1"; no exponent) in [min, max)
 * into *out; 0 with an explanation when there is none or it is out of
 * range. */
int nn_spec_float(nn_spec_cursor *c, const char *what, float min, float max,
                  float *out);
/* The same for a decimal in (0, max]. */
int nn_spec_float_positive(nn_spec_cursor *c, const char *what, float max,
                           float *out);
/* Optional "sS", then (when with_pad) optional "pP", into a->stride and
 * a->pad, which keep their values when absent; 0 with an explanation when a
 * number is wrong. */
int nn_spec_stride_pad(nn_spec_cursor *c, nn_layer_args *a, int with_pad);
/* "sS" unless the stride is plain_stride, then "pP" unless the padding is
 * 0, into buf: the canonical end of a token, like snprintf. */
int nn_spec_print_stride_pad(const nn_layer_args *a, int plain_stride,
                             char *buf, size_t size);
/* A pooling window "K[xK][sS][pP][c]", then "[e]" when with_exclude:
 * KH (and KW, else KH) into kh and kw, the stride defaulting to K for a
 * square window (a rectangle needs sS), a padding below the window, c into
 * ceil_mode and e into exclude_pad. */
int nn_spec_window(nn_spec_cursor *c, nn_layer_args *a, int with_exclude);
/* prefix, KH or KHxKW, then sS unless the stride is the (square) window, pP
 * unless the padding is 0, c in ceil mode and e with exclude_pad. */
int nn_spec_print_window(const nn_layer_args *a, const char *prefix,
                         char *buf, size_t size);
/* prefix followed by the shortest plain decimal (no exponent) that reads
 * back as v, like snprintf. */
int nn_spec_print_float(char *buf, size_t size, const char *prefix, float v);
/* 1 when the whole token has been read; else 0, explaining the text left. */
int nn_spec_finish(nn_spec_cursor *c);

#endif /* NN_CORE_SPEC_H */
