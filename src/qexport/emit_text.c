/* Text that grows (emit_text.h). */
#include "qexport/emit_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
