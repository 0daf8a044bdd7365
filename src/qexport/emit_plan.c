/* First fit in the working memory of a compiled model (emit_plan.h). */
#include "qexport/emit_plan.h"

/* 1 when owners a and b are live at one time (both ends included: a
 * step's inputs are live while it writes its output). */
static int overlap(const nn_emit_slot *a, int a_first, const nn_emit_slot *b,
                   int b_first)
{
    return !(a->last_read < b_first || b->last_read < a_first);
}

size_t nn_emit_first_fit(const nn_emit_slot *slots, int i)
{
    size_t offset = 0;
    int moved = 1;
    while (moved) {
        moved = 0;
        for (int j = 0; j < i; j++) {
            const nn_emit_slot *o = &slots[j];
            if (o->owner != j || o->size == 0 || !overlap(o, j, &slots[i], i))
                continue;
            if (offset < o->offset + o->size &&
                o->offset < offset + slots[i].size) {
                offset = o->offset + o->size;
                moved = 1;
            }
        }
    }
    return offset;
}
