/* metrics_parse: a strict reader of the metrics.json that report_json.c
 * writes (see metrics.h). Two steps: the text is parsed as RFC 8259 JSON
 * into a flat array of nodes, then the nodes are checked against the
 * format, key by key. Everything is bounded (size, depth, values, object
 * members), so a hostile file costs little and is refused with a message.
 * Only libc: the fuzz target builds it as a library of its own. */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 16
#define JSON_MAX_NODES (1 << 18)  /* 10,000 epochs and 256 classes fit */
#define JSON_MAX_MEMBERS 256      /* of one object */
#define MAX_EPOCHS 10000
#define MAX_CLASSES 256

/* ----------------------------------------------------------- JSON syntax */

typedef enum {
    JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY,
    JSON_OBJECT
} json_type;

/* A value. Members of arrays and objects are chained by next. */
typedef struct {
    json_type type;
    int first, next;    /* first member, next sibling: node indices or -1 */
    int count;          /* members */
    const char *key;    /* a member of an object: its key */
    const char *string; /* JSON_STRING: decoded, NUL-terminated */
    double number;      /* JSON_NUMBER */
} json_node;

typedef struct {
    const char *text;   /* NUL-terminated copy */
    size_t size, pos;
    json_node *nodes;
    int count, capacity;
    char *pool;         /* decoded strings: never more than the text */
    size_t pool_used;
    const char *error;  /* the first problem, at error_at */
    size_t error_at;
} json_parser;

static int json_fail(json_parser *p, const char *what)
{
    if (!p->error) {
        p->error = what;
        p->error_at = p->pos;
    }
    return -1;
}

static void skip_space(json_parser *p)
{
    while (p->pos < p->size && strchr(" \t\n\r", p->text[p->pos]) &&
           p->text[p->pos])
        p->pos++;
}

static int new_node(json_parser *p, json_type type)
{
    json_node *n;
    if (p->count == JSON_MAX_NODES)
        return json_fail(p, "too many values");
    if (p->count == p->capacity) {
        int capacity = p->capacity ? 2 * p->capacity : 256;
        json_node *grown = realloc(p->nodes, sizeof *grown * (size_t)capacity);
        if (!grown)
            return json_fail(p, "out of memory");
        p->nodes = grown;
        p->capacity = capacity;
    }
    n = &p->nodes[p->count];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->first = n->next = -1;
    return p->count++;
}

/* Bytes of a valid UTF-8 sequence at s (at most `left`), or 0. */
static int utf8_length(const unsigned char *s, size_t left)
{
    unsigned c = s[0], code;
    int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (c > 0xF4 || n == 0 || (size_t)n > left)
        return 0;
    code = c & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        code = code << 6 | (s[i] & 0x3F);
    }
    if ((n == 3 && code < 0x800) || (n == 4 && code < 0x10000) ||
        code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return 0; /* overlong, beyond Unicode, or a surrogate */
    return n;
}

/* Four hex digits after "\u"; -1 if they are not. */
static long hex4(const char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Appends code point c to the pool as UTF-8. */
static void put_utf8(json_parser *p, unsigned long c)
{
    char *o = p->pool + p->pool_used;
    int n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    static const unsigned char lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (int i = n - 1; i > 0; i--, c >>= 6)
        o[i] = (char)(0x80 | (c & 0x3F));
    o[0] = (char)(lead[n] | c);
    p->pool_used += (size_t)n;
}

/* A \u escape (p->pos at the 'u'), a surrogate pair taken whole. */
static int unicode_escape(json_parser *p)
{
    long c = p->pos + 5 <= p->size ? hex4(p->text + p->pos + 1) : -1, low;
    if (c < 0)
        return json_fail(p, "expected four hex digits after \\u");
    p->pos += 5;
    if (c >= 0xDC00 && c <= 0xDFFF)
        return json_fail(p, "a lone low surrogate in a \\u escape");
    if (c >= 0xD800 && c <= 0xDBFF) {
        low = p->pos + 6 <= p->size && p->text[p->pos] == '\\' &&
              p->text[p->pos + 1] == 'u' ? hex4(p->text + p->pos + 2) : -1;
        if (low < 0xDC00 || low > 0xDFFF)
            return json_fail(p, "a high surrogate without its low half");
        c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
        p->pos += 6;
    }
    if (c == 0)
        return json_fail(p, "\\u0000 in a string");
    put_utf8(p, (unsigned long)c);
    return 0;
}

/* A string at p->pos (its opening quote), decoded into the pool. */
static int parse_string(json_parser *p, const char **out)
{
    static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
    char *start = p->pool + p->pool_used;
    p->pos++;
    for (;;) {
        unsigned char c = (unsigned char)p->text[p->pos];
        if (p->pos >= p->size)
            return json_fail(p, "a string without its closing quote");
        if (c == '"')
            break;
        if (c < 0x20)
            return json_fail(p, "a control character in a string");
        if (c == '\\') {
            const char *e = p->pos + 1 < p->size && p->text[p->pos + 1]
                          ? strchr(escapes, p->text[p->pos + 1]) : NULL;
            p->pos++;
            if (p->text[p->pos] == 'u') {
                if (unicode_escape(p) < 0)
                    return -1;
                continue;
            }
            if (!e || (e - escapes) % 2)
                return json_fail(p, "an unknown escape in a string");
            p->pool[p->pool_used++] = e[1];
            p->pos++;
        } else if (c < 0x80) {
            p->pool[p->pool_used++] = (char)c;
            p->pos++;
        } else {
            int n = utf8_length((const unsigned char *)p->text + p->pos,
                                p->size - p->pos);
            if (!n)
                return json_fail(p, "a string that is not valid UTF-8");
            memcpy(p->pool + p->pool_used, p->text + p->pos, (size_t)n);
            p->pool_used += (size_t)n;
            p->pos += (size_t)n;
        }
    }
    p->pos++;
    p->pool[p->pool_used++] = '\0';
    *out = start;
    return 0;
}

static size_t skip_digits(const json_parser *p, size_t i)
{
    while (i < p->size && p->text[i] >= '0' && p->text[i] <= '9')
        i++;
    return i;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, finite. */
static int parse_number(json_parser *p, double *out)
{
    size_t i = p->pos, digits;
    char *end;
    if (p->text[i] == '-')
        i++;
    digits = skip_digits(p, i);
    if (digits == i)
        return json_fail(p, "a number without digits");
    if (p->text[i] == '0' && digits > i + 1)
        return json_fail(p, "a number with a leading zero");
    i = digits;
    if (i < p->size && p->text[i] == '.') {
        digits = skip_digits(p, i + 1);
        if (digits == i + 1)
            return json_fail(p, "no digits after a decimal point");
        i = digits;
    }
    if (i < p->size && (p->text[i] == 'e' || p->text[i] == 'E')) {
        i++;
        if (i < p->size && (p->text[i] == '+' || p->text[i] == '-'))
            i++;
        digits = skip_digits(p, i);
        if (digits == i)
            return json_fail(p, "no digits in an exponent");
        i = digits;
    }
    *out = strtod(p->text + p->pos, &end);
    if (end != p->text + i)
        return json_fail(p, "not a number");
    if (!isfinite(*out))
        return json_fail(p, "a number out of range");
    p->pos = i;
    return 0;
}

static int parse_value(json_parser *p, int depth);

/* Links member m after the last one of container c (last: its index). */
static void add_member(json_parser *p, int c, int *last, int m)
{
    if (*last < 0)
        p->nodes[c].first = m;
    else
        p->nodes[*last].next = m;
    *last = m;
    p->nodes[c].count++;
}

/* Consumes c, after blanks, when it comes next; 1 if it did. */
static int take(json_parser *p, char c)
{
    skip_space(p);
    if (p->pos >= p->size || p->text[p->pos] != c)
        return 0;
    p->pos++;
    return 1;
}

/* An object member's key, new in object `node`, and its ':'; NULL after
 * json_fail. */
static const char *parse_key(json_parser *p, int node)
{
    const char *key;
    skip_space(p);
    if (p->pos >= p->size || p->text[p->pos] != '"') {
        json_fail(p, "expected a key (a string) in an object");
        return NULL;
    }
    if (p->nodes[node].count == JSON_MAX_MEMBERS) {
        json_fail(p, "an object with too many members");
        return NULL;
    }
    if (parse_string(p, &key) < 0)
        return NULL;
    for (int k = p->nodes[node].first; k >= 0; k = p->nodes[k].next)
        if (!strcmp(p->nodes[k].key, key)) {
            json_fail(p, "a key given twice in an object");
            return NULL;
        }
    if (!take(p, ':')) {
        json_fail(p, "expected ':' after a key");
        return NULL;
    }
    return key;
}

/* The members of an array or object (p->pos at its '[' or '{') up to
 * the closing bracket. */
static int parse_members(json_parser *p, int node, int depth)
{
    int object = p->text[p->pos] == '{', last = -1, m;
    const char *key = NULL;
    p->pos++;
    if (take(p, object ? '}' : ']'))
        return node;
    for (;;) {
        if (object && !(key = parse_key(p, node)))
            return -1;
        if ((m = parse_value(p, depth + 1)) < 0)
            return -1;
        p->nodes[m].key = key;
        add_member(p, node, &last, m);
        if (take(p, object ? '}' : ']'))
            return node;
        if (!take(p, ','))
            return json_fail(p, object ? "expected ',' or '}' in an object"
                                       : "expected ',' or ']' in an array");
    }
}

static int parse_literal(json_parser *p, const char *word, json_type type)
{
    size_t n = strlen(word);
    if (p->size - p->pos < n || memcmp(p->text + p->pos, word, n))
        return json_fail(p, "expected a value");
    p->pos += n;
    return new_node(p, type);
}

static int parse_value(json_parser *p, int depth)
{
    int node;
    skip_space(p);
    if (depth > JSON_MAX_DEPTH)
        return json_fail(p, "nested too deeply");
    if (p->pos >= p->size)
        return json_fail(p, "expected a value, found the end of the file");
    switch (p->text[p->pos]) {
    case '{':
    case '[':
        node = new_node(p, p->text[p->pos] == '{' ? JSON_OBJECT : JSON_ARRAY);
        return node < 0 ? -1 : parse_members(p, node, depth);
    case '"':
        if ((node = new_node(p, JSON_STRING)) < 0)
            return -1;
        return parse_string(p, &p->nodes[node].string) < 0 ? -1 : node;
    case 't': return parse_literal(p, "true", JSON_TRUE);
    case 'f': return parse_literal(p, "false", JSON_FALSE);
    case 'n': return parse_literal(p, "null", JSON_NULL);
    default:
        if (p->text[p->pos] != '-' &&
            (p->text[p->pos] < '0' || p->text[p->pos] > '9'))
            return json_fail(p, "expected a value");
        if ((node = new_node(p, JSON_NUMBER)) < 0)
            return -1;
        return parse_number(p, &p->nodes[node].number) < 0 ? -1 : node;
    }
}

/* ------------------------------------------------------- metrics.json */

/* Checks nodes against the format; the first problem goes to msg. */
typedef struct {
    const json_parser *p;
    const char *name;
    char *msg;
    size_t msg_size;
} checker;

/* Formats "NAME: WHERE: WHAT" into the message; returns 0. */
static int refuse(const checker *c, const char *where, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(c->msg, c->msg_size, "%s: %s: %s", c->name, where, what);
    return 0;
}

static const char *type_name(json_type t)
{
    static const char *const names[] = {"null", "false", "true", "a number",
                                        "a string", "an array", "an object"};
    return names[t];
}

/* The member key of object, which must be of the given type; -1 (with
 * the message) when it is missing or of another type. */
static int member(const checker *c, int object, const char *where,
                  const char *key, json_type type)
{
    char at[96];
    const json_node *n = c->p->nodes;
    snprintf(at, sizeof at, "%s\"%s\"", where, key);
    for (int k = n[object].first; k >= 0; k = n[k].next) {
        if (strcmp(n[k].key, key))
            continue;
        if (n[k].type == type || (type == JSON_TRUE && n[k].type == JSON_FALSE))
            return k;
        refuse(c, at, "expected %s, found %s",
               type == JSON_TRUE ? "true or false" : type_name(type),
               type_name(n[k].type));
        return -1;
    }
    refuse(c, where[0] ? where : "the top level", "no \"%s\"", key);
    return -1;
}

/* A number member within [min, max] (a whole number when whole is 1). */
static int number(const checker *c, int object, const char *where,
                  const char *key, double min, double max, int whole,
                  double *out)
{
    char at[96];
    int k = member(c, object, where, key, JSON_NUMBER);
    double v;
    if (k < 0)
        return 0;
    v = c->p->nodes[k].number;
    if (v < min || v > max || (whole && v != floor(v))) {
        snprintf(at, sizeof at, "%s\"%s\"", where, key);
        return refuse(c, at, "%g is not %s from %g to %g", v,
                      whole ? "a whole number" : "a number", min, max);
    }
    *out = v;
    return 1;
}

/* The per-epoch records: consecutive epoch numbers from 1 up. */
static int read_epochs(const checker *c, int array, run_metrics *m)
{
    static const char *const keys[7] = {"lr", "train_loss", "train_accuracy",
                                        "test_loss", "test_accuracy",
                                        "seconds", "images_per_second"};
    static const double max[7] = {1e9, 1e30, 1, 1e30, 1, 1e12, 1e15};
    const json_node *n = c->p->nodes;
    int i = 0;
    m->epoch_count = n[array].count;
    if (m->epoch_count < 1 || m->epoch_count > MAX_EPOCHS)
        return refuse(c, "\"epochs\"", "%d records; expected 1 to %d",
                      m->epoch_count, MAX_EPOCHS);
    m->epochs = calloc((size_t)m->epoch_count, sizeof *m->epochs);
    if (!m->epochs)
        return refuse(c, "\"epochs\"", "out of memory");
    for (int k = n[array].first; k >= 0; k = n[k].next, i++) {
        metrics_epoch *e = &m->epochs[i];
        double *field[7] = {&e->lr, &e->train_loss, &e->train_accuracy,
                            &e->test_loss, &e->test_accuracy, &e->seconds,
                            &e->images_per_second};
        double epoch = 0;
        char where[48];
        snprintf(where, sizeof where, "\"epochs\"[%d] ", i);
        if (n[k].type != JSON_OBJECT)
            return refuse(c, where, "expected an object, found %s",
                          type_name(n[k].type));
        if (!number(c, k, where, "epoch", 1, MAX_EPOCHS, 1, &epoch))
            return 0;
        e->epoch = (int)epoch;
        if (i == 0)
            m->first_epoch = e->epoch - 1;
        else if (e->epoch != m->epochs[i - 1].epoch + 1)
            return refuse(c, where, "epoch %d follows epoch %d", e->epoch,
                          m->epochs[i - 1].epoch);
        for (int f = 0; f < 7; f++)
            if (!number(c, k, where, keys[f], 0, max[f], 0, field[f]))
                return 0;
    }
    return 1;
}

/* "settings": an object of strings. */
static int read_settings(const checker *c, int object, run_metrics *m)
{
    const json_node *n = c->p->nodes;
    if (n[object].count > REPORT_MAX_SETTINGS)
        return refuse(c, "\"settings\"", "%d settings; at most %d",
                      n[object].count, REPORT_MAX_SETTINGS);
    for (int k = n[object].first; k >= 0; k = n[k].next) {
        if (n[k].type != JSON_STRING)
            return refuse(c, "\"settings\"", "\"%.40s\" is %s, not a string",
                          n[k].key, type_name(n[k].type));
        m->settings.key[m->settings.count] = n[k].key;
        m->settings.value[m->settings.count++] = n[k].string;
    }
    return 1;
}

/* "confusion" (classes x classes counts) and "classes" (per-class
 * precision, recall and F1): checked, not kept. */
static int check_classes(const checker *c, int confusion, int classes)
{
    static const char *const keys[3] = {"precision", "recall", "f1"};
    const json_node *n = c->p->nodes;
    int rows = n[confusion].count, i = 0;
    double v;
    if (rows < 1 || rows > MAX_CLASSES || n[classes].count != rows)
        return refuse(c, "\"confusion\"", "%d rows and %d classes; expected "
                      "the same number, 1 to %d", rows, n[classes].count,
                      MAX_CLASSES);
    for (int r = n[confusion].first; r >= 0; r = n[r].next, i++) {
        char where[48];
        snprintf(where, sizeof where, "\"confusion\"[%d]", i);
        if (n[r].type != JSON_ARRAY || n[r].count != rows)
            return refuse(c, where, "expected an array of %d counts", rows);
        for (int k = n[r].first; k >= 0; k = n[k].next)
            if (n[k].type != JSON_NUMBER || n[k].number < 0 ||
                n[k].number > 9007199254740992.0 ||
                n[k].number != floor(n[k].number))
                return refuse(c, where, "expected whole numbers from 0");
    }
    i = 0;
    for (int k = n[classes].first; k >= 0; k = n[k].next, i++) {
        char where[48];
        snprintf(where, sizeof where, "\"classes\"[%d] ", i);
        if (n[k].type != JSON_OBJECT)
            return refuse(c, where, "expected an object, found %s",
                          type_name(n[k].type));
        for (int f = 0; f < 3; f++)
            if (!number(c, k, where, keys[f], 0, 1, 0, &v))
                return 0;
    }
    return 1;
}

/* The top-level object. */
static int read_metrics(const checker *c, int top, run_metrics *m)
{
    const json_node *n = c->p->nodes;
    double batch, planned, seed;
    int k, epochs, confusion, classes;
    if (n[top].type != JSON_OBJECT)
        return refuse(c, "the top level", "expected an object, found %s",
                      type_name(n[top].type));
    if ((k = member(c, top, "", "model", JSON_STRING)) < 0)
        return 0;
    m->model = n[k].string;
    if (!number(c, top, "", "parameters", 0, 9007199254740992.0, 1, &m->parameters) ||
        !number(c, top, "", "batch", 1, 65536, 1, &batch) ||
        !number(c, top, "", "seed", 0, 18446744073709551615.0, 1, &seed) ||
        !number(c, top, "", "planned_epochs", 1, MAX_EPOCHS, 1, &planned) ||
        !number(c, top, "", "seconds", 0, 1e12, 0, &m->seconds) ||
        !number(c, top, "", "images_per_second", 0, 1e15, 0, &m->images_per_second) ||
        !number(c, top, "", "test_accuracy", 0, 1, 0, &m->test_accuracy) ||
        !number(c, top, "", "test_loss", 0, 1e30, 0, &m->test_loss))
        return 0;
    m->batch = (int)batch;
    m->planned_epochs = (int)planned;
    if ((k = member(c, top, "", "finished", JSON_TRUE)) < 0)
        return 0;
    m->finished = n[k].type == JSON_TRUE;
    if ((k = member(c, top, "", "settings", JSON_OBJECT)) < 0 ||
        !read_settings(c, k, m))
        return 0;
    if ((epochs = member(c, top, "", "epochs", JSON_ARRAY)) < 0 ||
        (confusion = member(c, top, "", "confusion", JSON_ARRAY)) < 0 ||
        (classes = member(c, top, "", "classes", JSON_ARRAY)) < 0 ||
        !read_epochs(c, epochs, m) || !check_classes(c, confusion, classes))
        return 0;
    m->classes = n[classes].count;
    if (m->epochs[m->epoch_count - 1].epoch > m->planned_epochs)
        return refuse(c, "\"epochs\"", "epoch %d of a run of %d",
                      m->epochs[m->epoch_count - 1].epoch, m->planned_epochs);
    if (m->finished && m->epochs[m->epoch_count - 1].epoch != m->planned_epochs)
        return refuse(c, "\"finished\"", "true, but the last epoch recorded is "
                      "%d of %d", m->epochs[m->epoch_count - 1].epoch,
                      m->planned_epochs);
    return 1;
}

/* Line and column (from 1) of byte offset at. */
static void position(const char *text, size_t at, int *line, int *column)
{
    *line = *column = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            ++*line;
            *column = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            ++*column;
        }
    }
}

void metrics_free(run_metrics *m)
{
    free(m->storage);
    free(m->epochs);
    memset(m, 0, sizeof *m);
}

int metrics_parse(const char *text, size_t size, const char *name,
                  run_metrics *out, char *msg, size_t msg_size)
{
    json_parser p = {0};
    checker c = {&p, name, msg, msg_size};
    int top, ok = 0;
    memset(out, 0, sizeof *out);
    if (size > METRICS_MAX_BYTES) {
        snprintf(msg, msg_size, "%s: %zu bytes; a metrics.json has at most %d",
                 name, size, METRICS_MAX_BYTES);
        return 0;
    }
    /* the text, NUL-terminated for strtod, then the string pool */
    out->storage = malloc(2 * size + 2);
    if (!out->storage) {
        snprintf(msg, msg_size, "%s: out of memory", name);
        return 0;
    }
    memcpy(out->storage, text, size);
    out->storage[size] = '\0';
    p.text = out->storage;
    p.size = size;
    p.pool = out->storage + size + 1;
    top = parse_value(&p, 0);
    skip_space(&p);
    if (top >= 0 && p.pos < p.size)
        json_fail(&p, "more after the value");
    if (p.error) {
        int line, column;
        position(p.text, p.error_at, &line, &column);
        snprintf(msg, msg_size, "%s: line %d, column %d: not valid JSON: %s",
                 name, line, column, p.error);
    } else {
        ok = read_metrics(&c, top, out);
    }
    free(p.nodes);
    if (!ok)
        metrics_free(out);
    return ok;
}
