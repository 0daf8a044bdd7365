/* Text that grows, and the pieces of C text both emitters of compiled
 * models write (emit_c.c, qemit_c.c): symbol prefixes, float literals. */
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

/* The symbol prefix of path (size bytes with the '\0'): its file name
 * without ".c", every character but letters, digits and '_' made '_', "m"
 * before a leading digit. */
void nn_text_prefix(const char *path, char *prefix, size_t size);
/* s in upper case (at most size - 1 bytes): a prefix as a macro name. */
void nn_text_upper(const char *s, char *out, size_t size);
/* v as a C float literal of 9 significant digits ("0.0f", "1e-05f") in
 * buf (size bytes); returns buf. */
const char *nn_text_float_literal(float v, char *buf, size_t size);

#endif /* NN_QEXPORT_EMIT_TEXT_H */
