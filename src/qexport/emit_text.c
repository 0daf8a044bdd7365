/* Text that grows (emit_text.h). */
#include "qexport/emit_text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nn_text_put(nn_text *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (t->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(t->data ? t->data + t->len : NULL,
                  t->data ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = 2 * (t->len + (size_t)n + 1) + 4096;
        char *data = realloc(t->data, cap);
        if (!data) {
            t->failed = 1;
            return;
        }
        t->data = data;
        t->cap = cap;
        va_start(ap, fmt);
        vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
    }
    t->len += (size_t)n;
}

/* The symbol prefix of path: its file name without ".c", every character
 * but letters, digits and '_' made '_', "m" before a leading digit. */
void nn_text_prefix(const char *path, char *prefix, size_t size)
{
    const char *name = strrchr(path, '/');
    size_t n = 0, len;
    name = name ? name + 1 : path;
    len = strlen(name) >= 2 ? strlen(name) - 2 : 0;
    if (len == 0 || isdigit((unsigned char)name[0]))
        prefix[n++] = 'm';
    for (size_t i = 0; i < len && n + 1 < size; i++)
        prefix[n++] = isalnum((unsigned char)name[i]) ? name[i] : '_';
    prefix[n] = '\0';
}

void nn_text_upper(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; s[n] && n + 1 < size; n++)
        out[n] = (char)toupper((unsigned char)s[n]);
    out[n] = '\0';
}

const char *nn_text_float_literal(float v, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%.9g", (double)v);
    if (n > 0 && (size_t)n + 3 < size && !strpbrk(buf, ".eni"))
        strcat(buf, ".0");
    strcat(buf, "f");
    return buf;
}
