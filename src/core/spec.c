/* The readers a layer kind's parse function is written with: one spec
 * token [start, end) read through an nn_spec_cursor, with a message that
 * says why when it does not follow the kind's grammar (docs/FORMAT.md). */
#include "core/spec.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nn_spec_accept(nn_spec_cursor *c, const char *text)
{
    size_t len = strlen(text);
    if ((size_t)(c->end - c->p) < len || memcmp(c->p, text, len) != 0)
        return 0;
    c->p += len;
    return 1;
}

/* Explains that the token does not follow its grammar; returns 0. */
static int syntax_error(nn_spec_cursor *c)
{
    if (c->p == c->end)
        snprintf(c->why, sizeof c->why, "expected %s", c->grammar);
    else
        snprintf(c->why, sizeof c->why, "expected %s, found '%c' at %d",
                 c->grammar, *c->p, (int)(c->p - c->start) + 1);
    return 0;
}

int nn_spec_expect(nn_spec_cursor *c, char ch)
{
    char text[2] = {ch, '\0'};
    return nn_spec_accept(c, text) || syntax_error(c);
}

/* "what 123 is out of range R" for the number text [start, c->p); 0. */
static int out_of_range(nn_spec_cursor *c, const char *what,
                        const char *start, const char *range)
{
    int digits = (int)(c->p - start);
    snprintf(c->why, sizeof c->why, "%s %.*s%s is out of range %s", what,
             digits > 12 ? 12 : digits, start, digits > 12 ? "..." : "",
             range);
    return 0;
}

int nn_spec_int(nn_spec_cursor *c, const char *what, int min, int max,
                int *out)
{
    const char *start = c->p;
    char range[32];
    long value = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        if (value <= max)
            value = value * 10 + (*c->p - '0');
        c->p++;
    }
    if (c->p == start)
        return syntax_error(c);
    if (value < min || value > max) {
        snprintf(range, sizeof range, "%d..%d", min, max);
        return out_of_range(c, what, start, range);
    }
    *out = (int)value;
    return 1;
}

/* Reads a decimal ("0.25", ".5", "1"; no exponent) into *out when it lies
 * in [min, max), or with above_min in (min, max]; 0 with an explanation
 * when there is none or it is out of range. */
static int decimal_in(nn_spec_cursor *c, const char *what, float min,
                      float max, int above_min, float *out)
{
    const char *start = c->p;
    char text[72], range[48];
    int digits = 0, inside;
    float value = NAN;
    while (c->p < c->end && isdigit((unsigned char)*c->p))
        c->p++, digits++;
    if (c->p < c->end && *c->p == '.')
        for (c->p++; c->p < c->end && isdigit((unsigned char)*c->p); c->p++)
            digits++;
    if (digits == 0) {
        c->p = start;
        return syntax_error(c);
    }
    if ((size_t)(c->p - start) < sizeof text) {
        memcpy(text, start, (size_t)(c->p - start));
        text[c->p - start] = '\0';
        value = strtof(text, NULL);
    }
    inside = above_min ? value > min && value <= max
                       : value >= min && value < max;
    if (!inside) {
        snprintf(range, sizeof range, "%s%g, %g%s", above_min ? "(" : "[",
                 (double)min, (double)max, above_min ? "]" : ")");
        return out_of_range(c, what, start, range);
    }
    *out = value;
    return 1;
}

int nn_spec_float(nn_spec_cursor *c, const char *what, float min, float max,
                  float *out)
{
    return decimal_in(c, what, min, max, 0, out);
}

int nn_spec_float_positive(nn_spec_cursor *c, const char *what, float max,
                           float *out)
{
    return decimal_in(c, what, 0.0f, max, 1, out);
}

int nn_spec_stride_pad(nn_spec_cursor *c, nn_layer_args *a, int with_pad)
{
    if (nn_spec_accept(c, "s") &&
        !nn_spec_int(c, "stride", 1, NN_SPEC_MAX_SIDE, &a->stride))
        return 0;
    return !with_pad || !nn_spec_accept(c, "p") ||
           nn_spec_int(c, "padding", 0, NN_SPEC_MAX_SIDE, &a->pad);
}

int nn_spec_print_stride_pad(const nn_layer_args *a, int plain_stride,
                             char *buf, size_t size)
{
    char stride[16] = "", pad[16] = "";
    if (a->stride != plain_stride)
        snprintf(stride, sizeof stride, "s%d", a->stride);
    if (a->pad != 0)
        snprintf(pad, sizeof pad, "p%d", a->pad);
    return snprintf(buf, size, "%s%s", stride, pad);
}

int nn_spec_window(nn_spec_cursor *c, nn_layer_args *a, int with_exclude)
{
    if (!nn_spec_int(c, "pool window", 1, NN_SPEC_MAX_SIDE, &a->kh))
        return 0;
    a->kw = a->stride = a->kh;
    if (nn_spec_accept(c, "x") &&
        !nn_spec_int(c, "pool window", 1, NN_SPEC_MAX_SIDE, &a->kw))
        return 0;
    if (nn_spec_accept(c, "s")) {
        if (!nn_spec_int(c, "stride", 1, NN_SPEC_MAX_SIDE, &a->stride))
            return 0;
    } else if (a->kw != a->kh) {
        snprintf(c->why, sizeof c->why, "a %dx%d window needs its stride "
                 "sS", a->kh, a->kw);
        return 0;
    }
    if (nn_spec_accept(c, "p") &&
        !nn_spec_int(c, "padding", 0, (a->kw < a->kh ? a->kw : a->kh) - 1,
                     &a->pad))
        return 0;
    a->ceil_mode = nn_spec_accept(c, "c");
    a->exclude_pad = with_exclude && nn_spec_accept(c, "e");
    return 1;
}

int nn_spec_print_window(const nn_layer_args *a, const char *prefix,
                         char *buf, size_t size)
{
    int kw = a->kw ? a->kw : a->kh;
    char window[32], stride[16] = "", pad[16] = "";
    if (kw != a->kh)
        snprintf(window, sizeof window, "%dx%d", a->kh, kw);
    else
        snprintf(window, sizeof window, "%d", a->kh);
    if (a->stride != a->kh || kw != a->kh)
        snprintf(stride, sizeof stride, "s%d", a->stride);
    if (a->pad != 0)
        snprintf(pad, sizeof pad, "p%d", a->pad);
    return snprintf(buf, size, "%s%s%s%s%s%s", prefix, window, stride, pad,
                    a->ceil_mode ? "c" : "", a->exclude_pad ? "e" : "");
}

/* Plain decimals only ("0.00001", never "1e-05"): the shortest number of
 * decimals that reads back as v. */
int nn_spec_print_float(char *buf, size_t size, const char *prefix, float v)
{
    char text[80];
    int decimals = 0;
    do
        snprintf(text, sizeof text, "%.*f", decimals, (double)v);
    while (strtof(text, NULL) != v && ++decimals <= 60);
    return snprintf(buf, size, "%s%s", prefix, text);
}

int nn_spec_finish(nn_spec_cursor *c)
{
    return c->p == c->end || syntax_error(c);
}
