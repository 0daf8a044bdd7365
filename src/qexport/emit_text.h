/* Text that grows, shared by the emitters of compiled models (emit_c.c,
 * qemit_c.c). */
#ifndef NN_QEXPORT_EMIT_TEXT_H
#define NN_QEXPORT_EMIT_TEXT_H

#include <stddef.h>

/* Text that grows; `failed` once an allocation failed. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} nn_text;

/* Appends printf(fmt, ...) to t; does nothing once t has failed. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void nn_text_put(nn_text *t, const char *fmt, ...);

#endif /* NN_QEXPORT_EMIT_TEXT_H */
