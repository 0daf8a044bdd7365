/* gzip (RFC 1952), zlib (RFC 1950) and DEFLATE (RFC 1951) decoding,
 * written from the RFCs.
 *
 * The whole compressed file is in memory and the whole output goes into one
 * growing buffer, so back-references simply point into that buffer. Every
 * read is bounds-checked, every code table is validated before use, and the
 * output never grows past the caller's limit (decompression bombs). */
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

enum {
    MAX_CODE_BITS = 15,  /* longest Huffman code DEFLATE allows */
    FAST_BITS = 9,       /* codes up to this long decode in one lookup */
    LITLEN_SYMBOLS = 288, /* literal/length alphabet, 286 and 287 unused */
    DIST_SYMBOLS = 30,   /* distance alphabet */
    CODELEN_SYMBOLS = 19 /* code-length alphabet of dynamic blocks */
};

/* Largest expansion DEFLATE can reach: a 258-byte match in 2 bits. */
#define MAX_RATIO 1032u
#define ADLER_MOD 65521u /* largest prime below 2^16 (RFC 1950) */

/* Decoder state: input bit reader plus output buffer. */
typedef struct {
    const unsigned char *in; /* (in_size) compressed bytes */
    size_t in_size, pos;     /* pos: next byte to load into bits */
    uint64_t bits;           /* pending input bits, least significant first */
    unsigned count;          /* number of pending bits */
    unsigned char *out;      /* (cap) decoded bytes, len of them used */
    size_t len, cap, max_out;
    size_t member_start;     /* output offset where this gzip member starts */
    const char *reason;      /* why decoding failed */
} inflater;

/* A canonical Huffman code. */
typedef struct {
    uint16_t count[MAX_CODE_BITS + 1]; /* number of codes of each length */
    uint16_t symbol[LITLEN_SYMBOLS];   /* symbols ordered by (length, value) */
    uint16_t fast[1 << FAST_BITS];     /* next FAST_BITS input bits ->
                                          symbol << 4 | length; 0: slow path */
} huffman;

/* CRC-32 with the reflected polynomial 0xEDB88320, four bits at a time:
 * table[i] is the CRC of the nibble i. */
static uint32_t crc32_nibbles(uint32_t crc, const unsigned char *data,
                              size_t size)
{
    static const uint32_t table[16] = {
        0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC,
        0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
        0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
        0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C};
    for (size_t i = 0; i < size; i++) {
        crc = (crc >> 4) ^ table[(crc ^ data[i]) & 15u];
        crc = (crc >> 4) ^ table[(crc ^ (uint32_t)(data[i] >> 4)) & 15u];
    }
    return crc;
}

/* Slicing by 8: t[0][b] is the CRC of byte b, and t[k][b] that of b
 * followed by k zero bytes, so eight bytes take eight lookups at once.
 * The 8 KiB of tables are built on the stack (no global state), which pays
 * off for buffers of 64 KiB and up. */
static uint32_t crc32_slicing8(uint32_t crc, const unsigned char *data,
                               size_t size)
{
    uint32_t t[8][256];
    size_t i = 0;
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = c & 1u ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        t[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (uint32_t b = 0; b < 256; b++)
            t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xffu];
    for (; i + 8 <= size; i += 8) {
        const unsigned char *p = data + i;
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                             (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^
              t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][p[4]] ^
              t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    }
    return crc32_nibbles(crc, data + i, size - i);
}

uint32_t nn_crc32(uint32_t crc, const unsigned char *data, size_t size)
{
    crc = ~crc;
    crc = size >= 65536 ? crc32_slicing8(crc, data, size)
                       : crc32_nibbles(crc, data, size);
    return ~crc;
}

/* a = 1 + sum d, b = sum a, both mod 65521; summed 5552 bytes at a time,
 * the most before a uint32 could overflow. */
uint32_t nn_adler32(uint32_t adler, const unsigned char *data, size_t size)
{
    uint32_t a = adler & 0xffffu, b = adler >> 16;
    while (size > 0) {
        size_t n = size < 5552 ? size : 5552;
        size -= n;
        while (n--) {
            a += *data++;
            b += a;
        }
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    return b << 16 | a;
}

/* Records why decoding failed and returns status. */
static nn_status fail(inflater *s, nn_status status, const char *reason)
{
    s->reason = reason;
    return status;
}

/* Little-endian 16- and 32-bit values (gzip header and trailer). */
static uint32_t read_le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t read_le32(const unsigned char *p)
{
    return read_le16(p) | read_le16(p + 2) << 16;
}

/* ------------------------------------------------------------ bit reader */

/* Loads whole input bytes into the bit buffer while there is room. */
static void refill(inflater *s)
{
    while (s->count <= 56 && s->pos < s->in_size) {
        s->bits |= (uint64_t)s->in[s->pos++] << s->count;
        s->count += 8;
    }
}

/* Takes the next n (<= 16) bits, first bit in the lowest position. */
static nn_status get_bits(inflater *s, unsigned n, unsigned *value)
{
    if (s->count < n)
        refill(s);
    if (s->count < n)
        return fail(s, NN_EFORMAT, "truncated deflate stream");
    *value = (unsigned)(s->bits & ((1u << n) - 1u));
    s->bits >>= n;
    s->count -= n;
    return NN_OK;
}

/* Drops the bits up to the next byte boundary and hands the whole bytes
 * still pending back to the input, so s->pos is the next unread byte. */
static void align_to_byte(inflater *s)
{
    s->pos -= s->count / 8;
    s->bits = 0;
    s->count = 0;
}

/* --------------------------------------------------------- output buffer */

/* Makes room for extra more output bytes, within max_out. */
static nn_status reserve(inflater *s, size_t extra)
{
    size_t need = s->len + extra, cap;
    unsigned char *grown;
    if (need < s->len || need > s->max_out)
        return fail(s, NN_EOVERFLOW, "decompressed data exceeds the limit");
    if (need <= s->cap)
        return NN_OK;
    cap = s->cap > s->max_out / 2 ? s->max_out : s->cap * 2;
    if (cap < need)
        cap = need;
    grown = realloc(s->out, cap);
    if (!grown)
        return fail(s, NN_ENOMEM, "out of memory");
    s->out = grown;
    s->cap = cap;
    return NN_OK;
}

/* ---------------------------------------------------------- huffman codes */

/* Reverses the lowest len bits of code (DEFLATE sends codes MSB first). */
static unsigned reverse_bits(unsigned code, unsigned len)
{
    unsigned reversed = 0;
    while (len--) {
        reversed = reversed << 1 | (code & 1u);
        code >>= 1;
    }
    return reversed;
}

/* Fills the one-lookup table for codes of at most FAST_BITS bits, using the
 * canonical code assignment of RFC 1951 section 3.2.2. */
static void build_fast_table(huffman *h, const uint8_t *lengths, int n)
{
    unsigned next_code[MAX_CODE_BITS + 1];
    unsigned code = 0, len;
    int sym;
    for (len = 1; len <= MAX_CODE_BITS; len++) {
        code = (code + h->count[len - 1]) << 1;
        next_code[len] = code;
    }
    memset(h->fast, 0, sizeof h->fast);
    for (sym = 0; sym < n; sym++) {
        unsigned rev, step;
        len = lengths[sym];
        if (len == 0 || len > FAST_BITS)
            continue;
        rev = reverse_bits(next_code[len]++, len);
        for (step = rev; step < (1u << FAST_BITS); step += 1u << len)
            h->fast[step] = (uint16_t)((unsigned)sym << 4 | len);
    }
}

/* Builds the code for n symbols with the given code lengths (0: unused).
 * Returns 0 for a complete code, > 0 for an incomplete one and < 0 for an
 * over-subscribed one (more codes than the lengths can hold). */
static int build_huffman(huffman *h, const uint8_t *lengths, int n)
{
    uint16_t offset[MAX_CODE_BITS + 1];
    int left = 1, len, sym;
    memset(h->count, 0, sizeof h->count);
    for (sym = 0; sym < n; sym++)
        h->count[lengths[sym]]++;
    h->count[0] = 0;
    for (len = 1; len <= MAX_CODE_BITS; len++) {
        left = left * 2 - h->count[len];
        if (left < 0)
            return left;
    }
    offset[1] = 0;
    for (len = 1; len < MAX_CODE_BITS; len++)
        offset[len + 1] = (uint16_t)(offset[len] + h->count[len]);
    for (sym = 0; sym < n; sym++)
        if (lengths[sym] != 0)
            h->symbol[offset[lengths[sym]]++] = (uint16_t)sym;
    build_fast_table(h, lengths, n);
    return left;
}

/* Decodes one symbol bit by bit (codes longer than FAST_BITS, or the last
 * few bits of the input): walks the canonical code length by length. */
static nn_status decode_slow(inflater *s, const huffman *h, int *symbol)
{
    int code = 0, first = 0, index = 0, len;
    for (len = 1; len <= MAX_CODE_BITS; len++) {
        unsigned bit;
        nn_status st = get_bits(s, 1, &bit);
        if (st != NN_OK)
            return st;
        code |= (int)bit;
        if (code - h->count[len] < first) {
            *symbol = h->symbol[index + (code - first)];
            return NN_OK;
        }
        index += h->count[len];
        first = (first + h->count[len]) << 1;
        code <<= 1;
    }
    return fail(s, NN_EFORMAT, "invalid Huffman code");
}

/* Decodes one symbol: one table lookup when the code is short. */
static nn_status decode(inflater *s, const huffman *h, int *symbol)
{
    unsigned entry, len;
    if (s->count < FAST_BITS)
        refill(s);
    entry = h->fast[s->bits & ((1u << FAST_BITS) - 1u)];
    len = entry & 15u;
    if (entry == 0 || len > s->count)
        return decode_slow(s, h, symbol);
    *symbol = (int)(entry >> 4);
    s->bits >>= len;
    s->count -= len;
    return NN_OK;
}

/* ------------------------------------------------------------ block types */

/* Base values and extra bits of length symbols 257..285 and of distance
 * symbols 0..29 (RFC 1951 section 3.2.5). */
static const uint16_t length_base[29] = {
    3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
    31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1,
                                         1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                         4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2,  2,  3,  3,
                                       4, 4, 5, 5, 6, 6, 7,  7,  8,  8,
                                       9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* Copies a match of length bytes from distance bytes back in the output
 * (the regions may overlap: that is how runs are encoded). */
static nn_status copy_match(inflater *s, size_t length, size_t distance)
{
    nn_status st;
    size_t i;
    if (distance > s->len - s->member_start)
        return fail(s, NN_EFORMAT, "distance too far back");
    st = reserve(s, length);
    if (st != NN_OK)
        return st;
    for (i = 0; i < length; i++, s->len++)
        s->out[s->len] = s->out[s->len - distance];
    return NN_OK;
}

/* Decodes a length symbol's match (its length, then its distance). */
static nn_status decode_match(inflater *s, int symbol, const huffman *dist)
{
    unsigned extra, length, distance;
    int dsym;
    nn_status st;
    symbol -= 257;
    if (symbol >= 29)
        return fail(s, NN_EFORMAT, "invalid length symbol");
    if ((st = get_bits(s, length_extra[symbol], &extra)) != NN_OK)
        return st;
    length = length_base[symbol] + extra;
    if ((st = decode(s, dist, &dsym)) != NN_OK)
        return st;
    if (dsym >= DIST_SYMBOLS)
        return fail(s, NN_EFORMAT, "invalid distance symbol");
    if ((st = get_bits(s, dist_extra[dsym], &extra)) != NN_OK)
        return st;
    distance = dist_base[dsym] + extra;
    return copy_match(s, length, distance);
}

/* Decodes literals and matches of a Huffman block up to end-of-block. */
static nn_status inflate_codes(inflater *s, const huffman *litlen,
                               const huffman *dist)
{
    for (;;) {
        int symbol;
        nn_status st = decode(s, litlen, &symbol);
        if (st != NN_OK)
            return st;
        if (symbol < 256) {
            if ((st = reserve(s, 1)) != NN_OK)
                return st;
            s->out[s->len++] = (unsigned char)symbol;
        } else if (symbol == 256) {
            return NN_OK;
        } else if ((st = decode_match(s, symbol, dist)) != NN_OK) {
            return st;
        }
    }
}

/* Copies a stored (uncompressed) block: LEN, its complement NLEN, bytes. */
static nn_status inflate_stored(inflater *s)
{
    unsigned len, nlen;
    nn_status st;
    s->bits >>= s->count % 8;
    s->count -= s->count % 8;
    if ((st = get_bits(s, 16, &len)) != NN_OK ||
        (st = get_bits(s, 16, &nlen)) != NN_OK)
        return st;
    if (len != (~nlen & 0xffffu))
        return fail(s, NN_EFORMAT, "stored block length check failed");
    align_to_byte(s);
    if (len > s->in_size - s->pos) /* before any room is made for it */
        return fail(s, NN_EFORMAT, "truncated stored block");
    if ((st = reserve(s, len)) != NN_OK)
        return st;
    memcpy(s->out + s->len, s->in + s->pos, len);
    s->len += len;
    s->pos += len;
    return NN_OK;
}

/* Decodes a block with the fixed codes of RFC 1951 section 3.2.6. */
static nn_status inflate_fixed(inflater *s)
{
    huffman litlen, dist;
    uint8_t lengths[LITLEN_SYMBOLS];
    int sym;
    for (sym = 0; sym < LITLEN_SYMBOLS; sym++)
        lengths[sym] = sym < 144 ? 8 : sym < 256 ? 9 : sym < 280 ? 7 : 8;
    build_huffman(&litlen, lengths, LITLEN_SYMBOLS);
    memset(lengths, 5, DIST_SYMBOLS);
    build_huffman(&dist, lengths, DIST_SYMBOLS);
    return inflate_codes(s, &litlen, &dist);
}

/* Reads the code-length code of a dynamic block: hclen 3-bit lengths in
 * the permuted order of RFC 1951 section 3.2.7. It must be complete. */
static nn_status read_codelen_code(inflater *s, unsigned hclen, huffman *h)
{
    static const uint8_t order[CODELEN_SYMBOLS] = {
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    uint8_t lengths[CODELEN_SYMBOLS] = {0};
    unsigned i, len;
    for (i = 0; i < hclen; i++) {
        nn_status st = get_bits(s, 3, &len);
        if (st != NN_OK)
            return st;
        lengths[order[i]] = (uint8_t)len;
    }
    if (build_huffman(h, lengths, CODELEN_SYMBOLS) != 0)
        return fail(s, NN_EFORMAT, "bad code-length code");
    return NN_OK;
}

/* Reads n code lengths coded with the code-length code: symbols 0-15 are
 * lengths, 16 repeats the previous one 3-6 times, 17 and 18 write 3-10 and
 * 11-138 zeros. */
static nn_status read_code_lengths(inflater *s, const huffman *h,
                                   uint8_t *lengths, unsigned n)
{
    unsigned i = 0;
    while (i < n) {
        unsigned repeat, extra;
        uint8_t value = 0;
        int symbol;
        nn_status st = decode(s, h, &symbol);
        if (st != NN_OK)
            return st;
        if (symbol < 16) {
            lengths[i++] = (uint8_t)symbol;
            continue;
        }
        if (symbol == 16) {
            if (i == 0)
                return fail(s, NN_EFORMAT, "repeat with no previous length");
            value = lengths[i - 1];
            st = get_bits(s, 2, &extra);
            repeat = 3 + extra;
        } else if (symbol == 17) {
            st = get_bits(s, 3, &extra);
            repeat = 3 + extra;
        } else {
            st = get_bits(s, 7, &extra);
            repeat = 11 + extra;
        }
        if (st != NN_OK)
            return st;
        if (repeat > n - i)
            return fail(s, NN_EFORMAT, "code lengths overflow");
        while (repeat--)
            lengths[i++] = value;
    }
    return NN_OK;
}

/* Builds a literal/length or distance code of a dynamic block. Besides
 * complete codes, RFC 1951 section 3.2.7 allows a single one-bit code (one
 * unused) and no codes at all (a distance code for all-literal data). */
static nn_status build_dynamic(inflater *s, huffman *h, const uint8_t *lengths,
                               unsigned n, const char *what)
{
    int left = build_huffman(h, lengths, (int)n);
    int no_codes = left == 1 << MAX_CODE_BITS;
    int one_code = left == 1 << (MAX_CODE_BITS - 1) && h->count[1] == 1;
    if (left < 0 || (left > 0 && !no_codes && !one_code))
        return fail(s, NN_EFORMAT, what);
    return NN_OK;
}

/* Decodes a block whose codes are sent first (RFC 1951 section 3.2.7). */
static nn_status inflate_dynamic(inflater *s)
{
    huffman codelen, litlen, dist;
    uint8_t lengths[LITLEN_SYMBOLS + DIST_SYMBOLS + 2];
    unsigned hlit, hdist, hclen;
    nn_status st;
    if ((st = get_bits(s, 5, &hlit)) != NN_OK ||
        (st = get_bits(s, 5, &hdist)) != NN_OK ||
        (st = get_bits(s, 4, &hclen)) != NN_OK)
        return st;
    hlit += 257;
    hdist += 1;
    if (hlit > 286 || hdist > DIST_SYMBOLS)
        return fail(s, NN_EFORMAT, "too many length or distance codes");
    if ((st = read_codelen_code(s, hclen + 4, &codelen)) != NN_OK ||
        (st = read_code_lengths(s, &codelen, lengths, hlit + hdist)) != NN_OK)
        return st;
    if (lengths[256] == 0)
        return fail(s, NN_EFORMAT, "no end-of-block code");
    if ((st = build_dynamic(s, &litlen, lengths, hlit,
                            "bad literal/length code")) != NN_OK ||
        (st = build_dynamic(s, &dist, lengths + hlit, hdist,
                            "bad distance code")) != NN_OK)
        return st;
    return inflate_codes(s, &litlen, &dist);
}

/* Decodes a raw DEFLATE stream: blocks up to the one marked final. */
static nn_status inflate_blocks(inflater *s)
{
    unsigned final = 0, type;
    nn_status st = NN_OK;
    while (!final && st == NN_OK) {
        if ((st = get_bits(s, 1, &final)) != NN_OK ||
            (st = get_bits(s, 2, &type)) != NN_OK)
            return st;
        if (type == 0)
            st = inflate_stored(s);
        else if (type == 1)
            st = inflate_fixed(s);
        else if (type == 2)
            st = inflate_dynamic(s);
        else
            st = fail(s, NN_EFORMAT, "invalid block type");
    }
    return st;
}

/* ------------------------------------------------------------------ gzip */

enum { FTEXT = 1, FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16 };

/* Skips a zero-terminated header field (file name or comment). */
static nn_status skip_string(inflater *s)
{
    const unsigned char *end =
        memchr(s->in + s->pos, 0, s->in_size - s->pos);
    if (!end)
        return fail(s, NN_EFORMAT, "truncated gzip header");
    s->pos = (size_t)(end - s->in) + 1;
    return NN_OK;
}

/* Parses a member header (RFC 1952 section 2.3): magic, method 8 (deflate),
 * flags with their optional fields, and the header CRC when present. */
static nn_status read_header(inflater *s)
{
    size_t start = s->pos;
    const unsigned char *p = s->in + s->pos;
    unsigned flags;
    nn_status st;
    if (s->in_size - s->pos < 10)
        return fail(s, NN_EFORMAT, "truncated gzip header");
    if (p[0] != 0x1f || p[1] != 0x8b)
        return fail(s, NN_EFORMAT, "not a gzip stream");
    if (p[2] != 8)
        return fail(s, NN_EFORMAT, "unknown compression method");
    flags = p[3];
    if (flags & 0xe0u)
        return fail(s, NN_EFORMAT, "reserved gzip flags set");
    s->pos += 10;
    if (flags & FEXTRA) {
        size_t xlen;
        if (s->in_size - s->pos < 2)
            return fail(s, NN_EFORMAT, "truncated gzip header");
        xlen = read_le16(s->in + s->pos);
        if (xlen > s->in_size - s->pos - 2)
            return fail(s, NN_EFORMAT, "truncated gzip header");
        s->pos += 2 + xlen;
    }
    if ((flags & FNAME) && (st = skip_string(s)) != NN_OK)
        return st;
    if ((flags & FCOMMENT) && (st = skip_string(s)) != NN_OK)
        return st;
    if (flags & FHCRC) {
        if (s->in_size - s->pos < 2)
            return fail(s, NN_EFORMAT, "truncated gzip header");
        if (read_le16(s->in + s->pos) !=
            (nn_crc32(0, s->in + start, s->pos - start) & 0xffffu))
            return fail(s, NN_EFORMAT, "gzip header CRC mismatch");
        s->pos += 2;
    }
    return NN_OK;
}

/* Decodes one gzip member: header, deflate data, then the trailer's CRC-32
 * and ISIZE (length mod 2^32) checked against what was decoded. */
static nn_status read_member(inflater *s)
{
    size_t produced;
    nn_status st = read_header(s);
    if (st != NN_OK)
        return st;
    s->member_start = s->len;
    if ((st = inflate_blocks(s)) != NN_OK)
        return st;
    align_to_byte(s);
    if (s->in_size - s->pos < 8)
        return fail(s, NN_EFORMAT, "truncated gzip trailer");
    produced = s->len - s->member_start;
    if (read_le32(s->in + s->pos) !=
        nn_crc32(0, s->out + s->member_start, produced))
        return fail(s, NN_EFORMAT, "CRC-32 mismatch");
    if (read_le32(s->in + s->pos + 4) != (uint32_t)(produced & 0xffffffffu))
        return fail(s, NN_EFORMAT, "length (ISIZE) mismatch");
    s->pos += 8;
    return NN_OK;
}

/* A first output allocation: the size the last trailer announces, but
 * never more than DEFLATE could expand the input to, nor than max_out. */
static size_t initial_capacity(const unsigned char *in, size_t in_size,
                               size_t max_out)
{
    size_t cap = in_size >= 18 ? read_le32(in + in_size - 4) : 0;
    if (in_size <= SIZE_MAX / MAX_RATIO && cap > in_size * MAX_RATIO)
        cap = in_size * MAX_RATIO;
    if (cap > max_out)
        cap = max_out;
    return cap > 0 ? cap : 1;
}

/* Sets up a decoder over in with a first output buffer of cap bytes. */
static nn_status inflater_begin(inflater *s, const unsigned char *in,
                                size_t in_size, size_t max_out, size_t cap)
{
    memset(s, 0, sizeof *s);
    s->in = in;
    s->in_size = in_size;
    s->max_out = max_out;
    s->cap = cap;
    s->out = malloc(s->cap);
    return s->out ? NN_OK : fail(s, NN_ENOMEM, "out of memory");
}

/* Hands the output over on success, frees it and says why on failure. */
static nn_status inflater_end(inflater *s, nn_status st, unsigned char **out,
                              size_t *out_size, const char **reason)
{
    if (st != NN_OK) {
        free(s->out);
        if (reason)
            *reason = s->reason;
        return st;
    }
    *out = s->out;
    *out_size = s->len;
    return NN_OK;
}

/* Checks the decoder's arguments and clears the outputs. */
static nn_status check_arguments(const unsigned char *in, unsigned char **out,
                                 size_t *out_size, const char **reason)
{
    if (reason)
        *reason = NULL;
    if (!out || !out_size)
        return NN_EINVAL;
    *out = NULL;
    *out_size = 0;
    return in ? NN_OK : NN_EINVAL;
}

nn_status nn_gunzip(const unsigned char *in, size_t in_size,
                    unsigned char **out, size_t *out_size, size_t max_out,
                    const char **reason)
{
    inflater s;
    nn_status st = check_arguments(in, out, out_size, reason);
    if (st != NN_OK)
        return st;
    st = inflater_begin(&s, in, in_size, max_out,
                        initial_capacity(in, in_size, max_out));
    /* Members follow one another (RFC 1952 section 2.2); anything after
     * the last one that is not another member is refused. */
    while (st == NN_OK) {
        st = read_member(&s);
        if (st != NN_OK || s.pos == s.in_size)
            break;
        if (s.in_size - s.pos < 2 || in[s.pos] != 0x1f || in[s.pos + 1] != 0x8b)
            st = fail(&s, NN_EFORMAT, "trailing data after the gzip stream");
    }
    return inflater_end(&s, st, out, out_size, reason);
}

/* ------------------------------------------------------------------ zlib */

/* The two-byte header (RFC 1950 section 2.2): CM 8 (deflate) with a window
 * of at most 32 KiB, FCHECK making CMF * 256 + FLG a multiple of 31, and
 * no preset dictionary (PNG never uses one). */
static nn_status read_zlib_header(inflater *s)
{
    unsigned cmf, flg;
    if (s->in_size < 2)
        return fail(s, NN_EFORMAT, "truncated zlib header");
    cmf = s->in[0];
    flg = s->in[1];
    if ((cmf & 15u) != 8 || cmf >> 4 > 7)
        return fail(s, NN_EFORMAT, "not a deflate zlib stream");
    if ((cmf << 8 | flg) % 31 != 0)
        return fail(s, NN_EFORMAT, "zlib header check failed");
    if (flg & 0x20u)
        return fail(s, NN_EFORMAT, "zlib preset dictionary");
    s->pos = 2;
    return NN_OK;
}

/* The Adler-32 trailer, big-endian, and nothing after it. */
static nn_status read_zlib_trailer(inflater *s)
{
    const unsigned char *p;
    align_to_byte(s);
    if (s->in_size - s->pos < 4)
        return fail(s, NN_EFORMAT, "truncated zlib stream");
    p = s->in + s->pos;
    if (((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3]) != nn_adler32(1, s->out, s->len))
        return fail(s, NN_EFORMAT, "Adler-32 mismatch");
    s->pos += 4;
    if (s->pos != s->in_size)
        return fail(s, NN_EFORMAT, "data after the zlib stream");
    return NN_OK;
}

nn_status nn_zlib_decode(const unsigned char *in, size_t in_size,
                         unsigned char **out, size_t *out_size,
                         size_t max_out, const char **reason)
{
    inflater s;
    size_t cap = max_out;
    nn_status st = check_arguments(in, out, out_size, reason);
    if (st != NN_OK)
        return st;
    if (in_size <= SIZE_MAX / MAX_RATIO && cap > in_size * MAX_RATIO)
        cap = in_size * MAX_RATIO; /* more cannot come out of in_size bytes */
    st = inflater_begin(&s, in, in_size, max_out, cap > 0 ? cap : 1);
    if (st == NN_OK)
        st = read_zlib_header(&s);
    if (st == NN_OK)
        st = inflate_blocks(&s);
    if (st == NN_OK)
        st = read_zlib_trailer(&s);
    return inflater_end(&s, st, out, out_size, reason);
}
