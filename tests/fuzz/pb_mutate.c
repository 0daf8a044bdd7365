/* The protobuf mutator of the fuzz targets (see pb_mutate.h). The input is
 * read into a tree of nodes in one array (children linked in file order),
 * changed, and written again; every choice comes from a splitmix64 stream
 * seeded by libFuzzer's seed, so the same seed gives the same output. */
#include "pb_mutate.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_BYTES = 2, WIRE_FIXED32 = 5 };
enum {
    MAX_DEPTH = 12,      /* deepest nesting read as messages */
    MAX_NAME = 64,       /* longest string taken for a name */
    MAX_RUN = 1024,      /* most values a packed run is unpacked into */
    MAX_NODES = 1 << 18, /* most fields of a tree */
    ATTEMPTS = 8         /* mutations tried before giving up */
};

/* One field; a root is a message with no field number and no parent. */
typedef struct {
    uint32_t field;
    int wire;
    uint64_t value;          /* a varint's value, a fixed field's bits */
    const uint8_t *data;     /* a bytes leaf: [data, data + size) */
    size_t size;
    int is_message;          /* a bytes field read as a message */
    int parent, first, next; /* tree links, -1 for none */
    size_t payload;          /* a bytes field's encoded length when written */
} pb_node;

/* The tree, its live nodes in file order, the bytes a mutation makes (one
 * block, reused by the next attempt) and what the mutations go by. */
typedef struct {
    pb_node *node;
    int n, cap;
    int *live; /* the live fields under one root, depth first */
    int n_live;
    uint8_t *arena;
    size_t arena_cap;
    uint64_t rng;
    const pb_hints *hints; /* the format's, or NULL */
    size_t room;           /* bytes the output may still grow by */
} pb_tree;

/* ---------------------------------------------------------- randomness */

/* splitmix64. */
static uint64_t next_random(pb_tree *t)
{
    uint64_t z = (t->rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A number in [0, n) (0 when n is 0). */
static size_t below(pb_tree *t, size_t n)
{
    return n ? (size_t)(next_random(t) % n) : 0;
}

/* ---------------------------------------------------------------- tree */

static void tree_init(pb_tree *t, unsigned seed)
{
    memset(t, 0, sizeof *t);
    t->rng = seed;
}

static void tree_free(pb_tree *t)
{
    free(t->node);
    free(t->live);
    free(t->arena);
}

/* A new unlinked node, or -1 when the tree is full (or memory is). Nodes
 * move when the array grows: hold indices, not pointers, across calls. */
static int add_node(pb_tree *t)
{
    pb_node *x;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 256;
        pb_node *node;
        int *live;
        if (cap > MAX_NODES || !(node = realloc(t->node, (size_t)cap * sizeof *node)))
            return -1;
        t->node = node;
        if (!(live = realloc(t->live, (size_t)cap * sizeof *live)))
            return -1;
        t->live = live;
        t->cap = cap;
    }
    x = &t->node[t->n];
    memset(x, 0, sizeof *x);
    x->parent = x->first = x->next = -1;
    return t->n++;
}

/* Links k into parent after its child prev (first when prev is -1). */
static void insert_after(pb_tree *t, int parent, int prev, int k)
{
    t->node[k].parent = parent;
    if (prev < 0) {
        t->node[k].next = t->node[parent].first;
        t->node[parent].first = k;
    } else {
        t->node[k].next = t->node[prev].next;
        t->node[prev].next = k;
    }
}

/* Takes k (and what is under it) out of the tree. */
static void unlink_node(pb_tree *t, int k)
{
    int *link = &t->node[t->node[k].parent].first;
    while (*link != k)
        link = &t->node[*link].next;
    *link = t->node[k].next;
    t->node[k].parent = t->node[k].next = -1;
}

/* A copy of k and everything under it, not linked; -1 when full. */
static int copy_subtree(pb_tree *t, int k)
{
    int copy = add_node(t), prev = -1;
    if (copy < 0)
        return -1;
    t->node[copy] = t->node[k];
    t->node[copy].parent = t->node[copy].first = t->node[copy].next = -1;
    for (int c = t->node[k].first; c >= 0; c = t->node[c].next) {
        int d = copy_subtree(t, c);
        if (d < 0)
            return -1;
        insert_after(t, copy, prev, d);
        prev = d;
    }
    return copy;
}

/* The arena as a block of at least n bytes (a mutation takes one), or NULL. */
static uint8_t *arena_take(pb_tree *t, size_t n)
{
    if (n > t->arena_cap) {
        free(t->arena);
        t->arena_cap = 0;
        if (!(t->arena = malloc(n)))
            return NULL;
        t->arena_cap = n;
    }
    return t->arena;
}

/* --------------------------------------------------------- wire format */

/* One varint of p[*at, n) into *v; 0 when truncated or over 10 bytes. */
static int read_varint(const uint8_t *p, size_t n, size_t *at, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b;
        if (*at >= n)
            return 0;
        b = p[(*at)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

static uint8_t *put_varint(uint8_t *o, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *o++ = (uint8_t)(v | 0x80);
    *o++ = (uint8_t)v;
    return o;
}

/* Reads p[0, n) as the fields of message `parent`; 0 when the bytes are not
 * a message, and then the nodes made are given back. */
static int parse(pb_tree *t, int parent, const uint8_t *p, size_t n, int depth)
{
    int saved = t->n, prev = -1;
    size_t at = 0;
    while (at < n) {
        uint64_t key, length;
        int k = -1;
        pb_node *x;
        if (!read_varint(p, n, &at, &key) || key >> 3 == 0 ||
            key >> 3 > 0x1fffffff || (k = add_node(t)) < 0)
            goto refuse;
        x = &t->node[k];
        x->field = (uint32_t)(key >> 3);
        x->wire = (int)(key & 7);
        if (x->wire == WIRE_VARINT) {
            if (!read_varint(p, n, &at, &x->value))
                goto refuse;
        } else if (x->wire == WIRE_FIXED64 || x->wire == WIRE_FIXED32) {
            size_t width = x->wire == WIRE_FIXED64 ? 8 : 4;
            if (n - at < width)
                goto refuse;
            for (size_t i = 0; i < width; i++)
                x->value |= (uint64_t)p[at + i] << (8 * i);
            at += width;
        } else if (x->wire == WIRE_BYTES) {
            if (!read_varint(p, n, &at, &length) || length > n - at)
                goto refuse;
            x->data = p + at;
            x->size = (size_t)length;
            at += x->size;
        } else
            goto refuse;
        insert_after(t, parent, prev, k);
        prev = k;
        if (x->wire == WIRE_BYTES && x->size > 0 && depth < MAX_DEPTH) {
            int nested = parse(t, k, x->data, x->size, depth + 1);
            t->node[k].is_message = nested;
        }
    }
    return 1;
refuse:
    t->n = saved;
    t->node[parent].first = -1;
    return 0;
}

/* The encoded size of message msg's fields (each bytes field's payload is
 * kept for emit). */
static size_t measure(pb_tree *t, int msg)
{
    size_t total = 0;
    for (int c = t->node[msg].first; c >= 0; c = t->node[c].next) {
        pb_node *x = &t->node[c];
        total += varint_size((uint64_t)x->field << 3 | (uint64_t)x->wire);
        if (x->wire == WIRE_VARINT)
            total += varint_size(x->value);
        else if (x->wire == WIRE_FIXED64)
            total += 8;
        else if (x->wire == WIRE_FIXED32)
            total += 4;
        else {
            x->payload = x->is_message ? measure(t, c) : x->size;
            total += varint_size(x->payload) + x->payload;
        }
    }
    return total;
}

/* Writes message msg's fields at o (measure first); the end. */
static uint8_t *emit(const pb_tree *t, int msg, uint8_t *o)
{
    for (int c = t->node[msg].first; c >= 0; c = t->node[c].next) {
        const pb_node *x = &t->node[c];
        o = put_varint(o, (uint64_t)x->field << 3 | (uint64_t)x->wire);
        if (x->wire == WIRE_VARINT)
            o = put_varint(o, x->value);
        else if (x->wire == WIRE_FIXED64 || x->wire == WIRE_FIXED32) {
            size_t width = x->wire == WIRE_FIXED64 ? 8 : 4;
            for (size_t i = 0; i < width; i++)
                *o++ = (uint8_t)(x->value >> (8 * i));
        } else {
            o = put_varint(o, x->payload);
            if (x->is_message)
                o = emit(t, c, o);
            else if (x->size) {
                memcpy(o, x->data, x->size);
                o += x->size;
            }
        }
    }
    return o;
}

/* Writes the message under root into out; its size, or 0 when over max. */
static size_t serialize(pb_tree *t, int root, uint8_t *out, size_t max)
{
    size_t total = measure(t, root);
    if (total == 0 || total > max)
        return 0;
    emit(t, root, out);
    return total;
}

/* Lists the live fields under k, depth first. */
static void collect(pb_tree *t, int k)
{
    for (int c = t->node[k].first; c >= 0; c = t->node[c].next) {
        t->live[t->n_live++] = c;
        collect(t, c);
    }
}

/* ---------------------------------------------------------- choosing */

typedef int (*node_test)(const pb_tree *t, int k, const void *ctx);

/* A live field passing test, each equally likely; -1 when none does. */
static int pick(pb_tree *t, node_test test, const void *ctx)
{
    int chosen = -1;
    size_t count = 0;
    for (int i = 0; i < t->n_live; i++)
        if (test(t, t->live[i], ctx) && below(t, ++count) == 0)
            chosen = t->live[i];
    return chosen;
}

static int is_any(const pb_tree *t, int k, const void *ctx)
{
    (void)t, (void)k, (void)ctx;
    return 1;
}

static int has_wire(const pb_tree *t, int k, const void *wire)
{
    return t->node[k].wire == *(const int *)wire;
}

static int is_leaf(const pb_tree *t, int k, const void *ctx)
{
    (void)ctx;
    return t->node[k].wire == WIRE_BYTES && !t->node[k].is_message;
}

/* A leaf of 1..MAX_NAME printable characters (other than `ctx`'s). */
static int is_name(const pb_tree *t, int k, const void *other)
{
    const pb_node *x = &t->node[k];
    if (!is_leaf(t, k, NULL) || x->size == 0 || x->size > MAX_NAME)
        return 0;
    for (size_t i = 0; i < x->size; i++)
        if (x->data[i] < 0x20 || x->data[i] > 0x7e)
            return 0;
    if (other) {
        const pb_node *o = &t->node[*(const int *)other];
        return o->size != x->size || memcmp(o->data, x->data, x->size);
    }
    return 1;
}

/* 1 when a and b sit at the same path of field numbers from their roots. */
static int same_path(const pb_tree *t, int a, int b)
{
    for (;;) {
        int pa = t->node[a].parent, pb = t->node[b].parent;
        if (pa < 0 || pb < 0)
            return pa < 0 && pb < 0;
        if (t->node[a].field != t->node[b].field)
            return 0;
        a = pa;
        b = pb;
    }
}

/* 1 when varint k is at the hint's path. */
static int at_hint(const pb_tree *t, int k, const void *hint)
{
    const pb_varint_hint *h = hint;
    if (t->node[k].wire != WIRE_VARINT)
        return 0;
    for (int d = h->depth - 1; d >= 0; d--, k = t->node[k].parent)
        if (k < 0 || t->node[k].parent < 0 || (int)t->node[k].field != h->path[d])
            return 0;
    return t->node[k].parent < 0;
}

/* A message at the same path as `ctx`'s parent, other than that parent. */
static int is_sibling_message(const pb_tree *t, int k, const void *ctx)
{
    int parent = t->node[*(const int *)ctx].parent;
    return t->node[k].is_message && k != parent && same_path(t, k, parent);
}

/* --------------------------------------------------------- mutations */

/* A varint set to a boundary value or moved by one. */
static int mutate_varint(pb_tree *t)
{
    static const uint64_t edges[] = {
        0, 1, 2, 3, 4, 7, 8, 16, 64, 255, 256, 65535, 0x7fffffff,
        0x80000000u, 0xffffffffu, 0x100000000u, INT64_MAX,
        (uint64_t)INT64_MAX + 1, UINT64_MAX /* -1 */, UINT64_MAX - 1};
    int wire = WIRE_VARINT, k = pick(t, has_wire, &wire);
    uint64_t *v;
    if (k < 0)
        return 0;
    v = &t->node[k].value;
    switch (below(t, 4)) {
    case 0:
        *v += 1;
        break;
    case 1:
        *v -= 1;
        break;
    case 2:
        *v ^= (uint64_t)1 << below(t, 64);
        break;
    default:
        *v = edges[below(t, sizeof edges / sizeof *edges)];
    }
    return 1;
}

/* A varint the format names set to one of the values it lists. */
static int mutate_hinted(pb_tree *t)
{
    const pb_hints *h = t->hints;
    const pb_varint_hint *hint;
    int k;
    if (!h || h->n_varints == 0)
        return 0;
    hint = &h->varints[below(t, (size_t)h->n_varints)];
    if ((k = pick(t, at_hint, hint)) < 0)
        return 0;
    t->node[k].value = (uint64_t)hint->values[below(t, (size_t)hint->n_values)];
    return 1;
}

/* A fixed32 set to a special float, or a fixed field's bit flipped. */
static int mutate_fixed(pb_tree *t)
{
    static const uint32_t floats[] = {
        0x00000000, 0x80000000, 0x3f800000 /* 1 */, 0xbf800000 /* -1 */,
        0x3f000000 /* 0.5 */, 0x00000001 /* smallest subnormal */,
        0x00800000 /* smallest normal */, 0x7f7fffff /* largest */,
        0x7f800000 /* inf */, 0xff800000 /* -inf */, 0x7fc00000 /* NaN */,
        0x4b800001 /* 2^24 + 2 */, 0x477fe000 /* 65504 */};
    int wire = below(t, 4) ? WIRE_FIXED32 : WIRE_FIXED64;
    int k = pick(t, has_wire, &wire);
    if (k < 0)
        return 0;
    if (wire == WIRE_FIXED32 && below(t, 2))
        t->node[k].value = floats[below(t, sizeof floats / sizeof *floats)];
    else
        t->node[k].value ^= (uint64_t)1 << below(t, wire == WIRE_FIXED32 ? 32 : 64);
    return 1;
}

/* A field (with its sub-fields) written twice. */
static int mutate_duplicate(pb_tree *t)
{
    int k = pick(t, is_any, NULL), copy;
    if (k < 0 || (copy = copy_subtree(t, k)) < 0)
        return 0;
    insert_after(t, t->node[k].parent, k, copy);
    return 1;
}

/* A field left out. */
static int mutate_delete(pb_tree *t)
{
    int k = pick(t, is_any, NULL);
    if (k < 0)
        return 0;
    unlink_node(t, k);
    return 1;
}

/* Two fields of one message trade places (node order, input order). */
static int mutate_swap(pb_tree *t)
{
    int a = pick(t, is_any, NULL), b = -1, same = (int)below(t, 2);
    size_t count = 0;
    pb_node x, y;
    if (a < 0)
        return 0;
    for (int c = t->node[t->node[a].parent].first; c >= 0; c = t->node[c].next)
        if (c != a && (!same || t->node[c].field == t->node[a].field) &&
            below(t, ++count) == 0)
            b = c;
    if (b < 0)
        return 0;
    x = t->node[a];
    y = t->node[b];
    t->node[a] = y;
    t->node[a].parent = x.parent;
    t->node[a].next = x.next;
    t->node[b] = x;
    t->node[b].parent = y.parent;
    t->node[b].next = y.next;
    for (int c = t->node[a].first; c >= 0; c = t->node[c].next)
        t->node[c].parent = a;
    for (int c = t->node[b].first; c >= 0; c = t->node[c].next)
        t->node[c].parent = b;
    return 1;
}

/* A field given another number: a sibling's, one next to its own, or a
 * small one. */
static int mutate_renumber(pb_tree *t)
{
    int k = pick(t, is_any, NULL), sibling;
    size_t how = below(t, 3);
    uint32_t field;
    if (k < 0)
        return 0;
    field = t->node[k].field;
    sibling = t->node[t->node[k].parent].first;
    for (size_t i = below(t, 8); i > 0 && t->node[sibling].next >= 0; i--)
        sibling = t->node[sibling].next;
    if (how == 0)
        field = t->node[sibling].field;
    else if (how == 1)
        field = field > 1 && (below(t, 2) || field == 0x1fffffff) ? field - 1
                                                                  : field + 1;
    else
        field = 1 + (uint32_t)below(t, 24);
    t->node[k].field = field;
    return 1;
}

/* The values of a packed run (varints, or 4-byte values when fixed) of
 * leaf k; how many, or 0 when they do not read as such. ends[i] is where
 * value i ends. */
static size_t run_values(const pb_node *x, int fixed, size_t *ends)
{
    size_t n = 0, at = 0;
    uint64_t v;
    if (fixed && x->size % 4)
        return 0;
    while (at < x->size) {
        if (n == MAX_RUN)
            return 0;
        if (fixed)
            at += 4;
        else if (!read_varint(x->data, x->size, &at, &v))
            return 0;
        ends[n++] = at;
    }
    return n;
}

/* Packed run k split into one field per value, of wire type `wire`. */
static int unpack_run(pb_tree *t, int k, int wire, const size_t *ends, size_t n)
{
    int prev = k;
    size_t start = 0;
    pb_node leaf = t->node[k];
    for (size_t i = 0; i < n; i++) {
        int v = add_node(t);
        size_t at = start;
        if (v < 0)
            return 0;
        t->node[v].field = leaf.field;
        t->node[v].wire = wire;
        if (wire == WIRE_VARINT)
            read_varint(leaf.data, ends[i], &at, &t->node[v].value);
        else
            for (int b = 0; b < 4; b++)
                t->node[v].value |= (uint64_t)leaf.data[start + (size_t)b] << (8 * b);
        insert_after(t, leaf.parent, prev, v);
        prev = v;
        start = ends[i];
    }
    unlink_node(t, k);
    return 1;
}

/* A packed run (ints, dims, int64_data, float_data) written unpacked, or
 * cut in two packed runs. */
static int mutate_unpack(pb_tree *t)
{
    size_t ends[MAX_RUN], n;
    int k = pick(t, is_leaf, NULL), fixed = (int)below(t, 2), rest;
    if (k < 0 || t->node[k].size == 0)
        return 0;
    if (!(n = run_values(&t->node[k], fixed, ends)) &&
        !(n = run_values(&t->node[k], fixed = !fixed, ends)))
        return 0;
    if (n < 2 || below(t, 2))
        return unpack_run(t, k, fixed ? WIRE_FIXED32 : WIRE_VARINT, ends, n);
    if ((rest = add_node(t)) < 0)
        return 0;
    t->node[rest] = t->node[k];
    t->node[rest].next = -1;
    t->node[k].size = ends[below(t, n - 1)];
    t->node[rest].data += t->node[k].size;
    t->node[rest].size -= t->node[k].size;
    insert_after(t, t->node[k].parent, k, rest);
    return 1;
}

/* A run of varint or fixed32 fields of one number written as one packed
 * field (a single value too). */
static int mutate_pack(pb_tree *t)
{
    int wire = below(t, 2) ? WIRE_VARINT : WIRE_FIXED32;
    int k = pick(t, has_wire, &wire), n = 0;
    size_t run = 0;
    uint8_t *out, *o;
    if (k < 0)
        return 0;
    for (int c = k; c >= 0 && t->node[c].field == t->node[k].field &&
                    t->node[c].wire == wire;
         c = t->node[c].next)
        run++;
    if (!(out = arena_take(t, 10 * (run < MAX_RUN ? run : MAX_RUN))))
        return 0;
    o = out;
    for (int c = k; c >= 0 && n < MAX_RUN; n++) {
        int next = t->node[c].next;
        if (wire == WIRE_VARINT)
            o = put_varint(o, t->node[c].value);
        else
            for (int b = 0; b < 4; b++)
                *o++ = (uint8_t)(t->node[c].value >> (8 * b));
        if (c != k)
            unlink_node(t, c);
        c = next >= 0 && t->node[next].field == t->node[k].field &&
                    t->node[next].wire == wire ? next : -1;
    }
    t->node[k].wire = WIRE_BYTES;
    t->node[k].data = out;
    t->node[k].size = (size_t)(o - out);
    return 1;
}

/* raw_data moved to float_data (packed, or a fixed32 per value), or packed
 * float_data moved to raw_data. */
static int mutate_raw(pb_tree *t)
{
    const pb_hints *h = t->hints;
    int k, raw;
    size_t ends[MAX_RUN], n;
    if (!h || !h->raw_field || (k = pick(t, is_leaf, NULL)) < 0)
        return 0;
    raw = (int)t->node[k].field == h->raw_field;
    if ((!raw && (int)t->node[k].field != h->float_field) || t->node[k].size % 4)
        return 0;
    t->node[k].field = (uint32_t)(raw ? h->float_field : h->raw_field);
    if (raw && below(t, 2) && (n = run_values(&t->node[k], 1, ends)) > 0)
        return unpack_run(t, k, WIRE_FIXED32, ends, n);
    return 1;
}

/* A string replaced by another string of the input: names collide or
 * dangle. */
static int mutate_name(pb_tree *t)
{
    int k = pick(t, is_name, NULL), from;
    if (k < 0 || (from = pick(t, is_name, &k)) < 0)
        return 0;
    t->node[k].data = t->node[from].data;
    t->node[k].size = t->node[from].size;
    return 1;
}

/* The bytes of one leaf (a name, raw weights, a packed run) mutated by
 * libFuzzer, growing by at most 64 bytes and t->room. */
static int mutate_leaf(pb_tree *t)
{
    int k = pick(t, is_leaf, NULL);
    size_t size, max;
    uint8_t *out;
    if (k < 0)
        return 0;
    size = t->node[k].size;
    max = size + (t->room < 64 ? t->room : 64);
    if (!(out = arena_take(t, max ? max : 1)))
        return 0;
    if (size)
        memcpy(out, t->node[k].data, size);
    t->node[k].data = out;
    t->node[k].size = max ? LLVMFuzzerMutate(out, size, max) : 0;
    return 1;
}

/* A field copied into another message of the same kind (an attribute of
 * one node into another node). */
static int mutate_copy_into(pb_tree *t)
{
    int k = pick(t, is_any, NULL), into, copy, prev = -1;
    if (k < 0 || (into = pick(t, is_sibling_message, &k)) < 0 ||
        (copy = copy_subtree(t, k)) < 0)
        return 0;
    for (int c = t->node[into].first, i = (int)below(t, 4); c >= 0 && i > 0;
         c = t->node[c].next, i--)
        prev = c;
    insert_after(t, into, prev, copy);
    return 1;
}

/* One mutation of the tree, the likelier ones listed more than once; 0
 * when the one chosen does not apply. */
static int apply(pb_tree *t)
{
    static int (*const table[])(pb_tree *) = {
        mutate_leaf, mutate_leaf, mutate_leaf, mutate_varint, mutate_varint,
        mutate_hinted, mutate_hinted, mutate_fixed, mutate_duplicate,
        mutate_delete, mutate_swap, mutate_renumber, mutate_unpack,
        mutate_pack, mutate_raw, mutate_name, mutate_copy_into};
    return table[below(t, sizeof table / sizeof *table)](t);
}

size_t pb_mutate(uint8_t *data, size_t size, size_t max_size, unsigned seed,
                 const pb_hints *hints)
{
    pb_tree t;
    uint8_t *input = malloc(size ? size : 1);
    size_t written = 0;
    if (!input)
        return 0;
    tree_init(&t, seed);
    t.hints = hints;
    memcpy(input, data, size);
    for (int attempt = 0; attempt < ATTEMPTS && !written; attempt++) {
        size_t now;
        int root;
        t.n = 0;
        t.n_live = 0;
        if ((root = add_node(&t)) < 0 || !parse(&t, root, input, size, 0))
            break;
        collect(&t, root);
        if (t.n_live == 0)
            break;
        now = measure(&t, root);
        t.room = max_size > now ? max_size - now : 0;
        if (apply(&t))
            written = serialize(&t, root, data, max_size);
    }
    free(input);
    tree_free(&t);
    return written;
}

size_t pb_cross_over(const uint8_t *data1, size_t size1, const uint8_t *data2,
                     size_t size2, uint8_t *out, size_t max_out, unsigned seed)
{
    pb_tree t;
    size_t written = 0;
    int root1, root2, k, into, copy, prev = -1, replace = -1;
    size_t count = 0;
    tree_init(&t, seed);
    if ((root1 = add_node(&t)) < 0 || !parse(&t, root1, data1, size1, 0) ||
        (root2 = add_node(&t)) < 0 ||
        !parse(&t, root2, data2, size2, 0))
        goto done;
    collect(&t, root2);
    if ((k = pick(&t, is_any, NULL)) < 0)
        goto done;
    t.n_live = 0;
    collect(&t, root1);
    if (t.node[k].parent == root2)
        into = root1;
    else if ((into = pick(&t, is_sibling_message, &k)) < 0)
        goto done;
    if ((copy = copy_subtree(&t, k)) < 0)
        goto done;
    for (int c = t.node[into].first; c >= 0; c = t.node[c].next) {
        if (t.node[c].field == t.node[k].field && below(&t, ++count) == 0)
            replace = c;
        if (below(&t, 4) == 0)
            prev = c;
    }
    insert_after(&t, into, replace >= 0 ? replace : prev, copy);
    if (replace >= 0 && below(&t, 2))
        unlink_node(&t, replace);
    written = serialize(&t, root1, out, max_out);
done:
    tree_free(&t);
    return written;
}
