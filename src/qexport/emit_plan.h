/* The working memory of a compiled model (emit_c_plan.c, qemit_c.c): a
 * tensor lives from the step that makes it to its last reader, and owners
 * whose lifetimes do not overlap share memory. */
#ifndef NN_QEXPORT_EMIT_PLAN_H
#define NN_QEXPORT_EMIT_PLAN_H

#include <stddef.h>

/* Where one tensor lives in the working memory; size and offset count the
 * emitter's unit (floats of the fp32 emitter, bytes of the int8 one). */
typedef struct {
    int owner;     /* the tensor whose memory holds it: itself, or an earlier
                      one it is computed over in place or aliases; -1: the
                      net's input */
    size_t offset; /* first unit in the working memory (owners only) */
    size_t size;   /* units of one sample (0: not in the working memory) */
    int last_read; /* the last step reading the owner's memory */
} nn_emit_slot;

/* The lowest offset where owner i fits beside the owners before it that
 * are live at the same time (first fit); an owner j is live from step j to
 * its last_read, both ends included. */
size_t nn_emit_first_fit(const nn_emit_slot *slots, int i);

#endif /* NN_QEXPORT_EMIT_PLAN_H */
