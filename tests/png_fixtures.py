#!/usr/bin/python3
"""Writes the PNG fixtures of tests/test_png.c into tests/fixtures/: small
images of every colour type compressed by Python's zlib (real DEFLATE with
Huffman codes, which libnn's own writer never makes), with rows under each
of the five filters, IDAT data split over several chunks (one of them
empty), ancillary chunks to skip, and tRNS transparency; and png_expected.txt,
the 8-bit pixels nn_png_read must return for each (computed here, with
alpha composited on black), in the format of the other fixtures: a comment
line, then "name count width height channels pixels...". It also writes
the seed corpus of the fuzz_png target (tests/fuzz/corpus/fuzz_png/).
    cd tests && /usr/bin/python3 png_fixtures.py"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def chunk(kind, body=b""):
    return (struct.pack(">I", len(body)) + kind + body +
            struct.pack(">I", zlib.crc32(kind + body)))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_rows(rows, bpp, filters):
    """Each row (bytes) coded with filters[y]: 0 None .. 4 Paeth."""
    out, prev = b"", bytes(len(rows[0]))
    for y, row in enumerate(rows):
        kind = filters[y]
        coded = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            coded.append((x - pred) & 255)
        out += bytes([kind]) + bytes(coded)
        prev = row
    return out


def pack(samples, depth):
    """One row of samples as bytes: big-endian 16-bit, or packed from the
    most significant bit for depths below 8."""
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc, bits = acc << depth | s, bits + depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def value(x, y, k, depth):
    """The test pattern: every sample differs from its neighbours."""
    v = x * 3 + y * 5 + k * 7 + x * y
    return (v * 4099 + k * 1000) % 65536 if depth == 16 else v % (1 << depth)


def to8(v, depth):
    if depth == 16:
        return (v * 255 + 32767) // 65535
    return v * 255 // ((1 << depth) - 1)


def over_black(v, a):
    return (v * a + 127) // 255


SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def make(name, color, depth, width, height, filters, palette=None, trns=None,
         idat_cuts=(), extra_before=(), extra_after=()):
    """Writes fixtures/NAME.png; returns (width, height, channels, pixels)."""
    n = SAMPLES[color]
    raw_rows, expected, channels = [], [], 3 if color in (2, 6) else 1
    if color == 3:
        pal = [palette[i] for i in range(len(palette))]
        alpha = list(trns or b"") + [255] * (len(pal) - len(trns or b""))
        shown = [tuple(over_black(c, alpha[i]) for c in pal[i]) for i in range(len(pal))]
        channels = 1 if all(r == g == b for r, g, b in shown) else 3
    for y in range(height):
        row = []
        for x in range(width):
            s = [value(x, y, k, depth) for k in range(n)]
            if color == 3:
                s = [s[0] % len(palette)]
                expected += shown[s[0]][:channels]
            elif trns is not None and tuple(s) == trns:
                expected += [0] * channels
            else:
                v = [to8(t, depth) for t in s]
                a = v[n - 1] if color in (4, 6) else 255
                expected += [over_black(t, a) for t in v[:channels]]
            row += s
        raw_rows.append(pack(row, depth))
    bpp = max(1, n * depth // 8)
    data = zlib.compress(filter_rows(raw_rows, bpp, filters), 9)
    cuts = [0] + list(idat_cuts) + [len(data)]
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                            depth, color, 0, 0, 0))
    for kind, body in extra_before:
        png += chunk(kind, body)
    if palette:
        png += chunk(b"PLTE", b"".join(bytes(p) for p in palette))
    if trns is not None:
        if color == 3:
            png += chunk(b"tRNS", bytes(trns))
        else:
            png += chunk(b"tRNS", b"".join(struct.pack(">H", t) for t in trns))
    for a, b in zip(cuts, cuts[1:]):
        png += chunk(b"IDAT", data[a:b])
    for kind, body in extra_after:
        png += chunk(kind, body)
    png += chunk(b"IEND")
    with open(os.path.join(HERE, "fixtures", name + ".png"), "wb") as f:
        f.write(png)
    return width, height, channels, expected, png


def main():
    cycle = [y % 5 for y in range(64)]
    fixtures = [
        # name, colour, depth, width, height, filters, keyword arguments
        ("png_rgb8_split", 2, 8, 9, 10, cycle,
         dict(idat_cuts=(40, 40, 90), extra_before=((b"gAMA", struct.pack(">I", 45455)),
                                                    (b"tEXt", b"Comment\0libnn fixture")),
              extra_after=((b"tIME", bytes([7, 234, 1, 2, 3, 4, 5])),))),
        ("png_grey2", 0, 2, 13, 5, cycle, {}),
        ("png_grey1_odd", 0, 1, 11, 6, [4, 3, 2, 1, 0, 4], {}),
        ("png_palette4_trns", 3, 4, 11, 6, cycle,
         dict(palette=[(i * 20, 255 - i * 20, (i * 77) % 256) for i in range(12)],
              trns=bytes([0, 64, 128, 200, 255]))),
        ("png_palette8_grey", 3, 8, 7, 5, cycle,
         dict(palette=[(i * 9, i * 9, i * 9) for i in range(29)])),
        ("png_rgba16", 6, 16, 5, 5, [4] * 5, {}),
        ("png_grey_alpha8", 4, 8, 6, 5, [3] * 5, {}),
        ("png_grey16_trns", 0, 16, 4, 6, cycle, dict(trns=(value(1, 1, 0, 16),))),
        ("png_rgb8_trns", 2, 8, 5, 5, [1, 2, 0, 4, 3],
         dict(trns=(value(2, 3, 0, 8), value(2, 3, 1, 8), value(2, 3, 2, 8)))),
    ]
    lines = ["# tests/png_fixtures.py: name count width height channels pixels "
             "(8-bit, alpha over black)"]
    corpus = os.path.join(HERE, "fuzz", "corpus", "fuzz_png")
    os.makedirs(corpus, exist_ok=True)
    for name, color, depth, width, height, filters, kw in fixtures:
        w, h, c, pixels, png = make(name, color, depth, width, height, filters, **kw)
        assert len(pixels) == w * h * c
        lines.append(" ".join(str(v) for v in [name, 3 + len(pixels), w, h, c] + pixels))
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(png)
    # Structured seeds (see tests/fuzz/fuzz_png.c): mode, the length of
    # part 0 (IHDR body, PLTE body, tRNS body), then the filtered rows.
    def ihdr(w, h, depth, color):
        return struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
    rows = lambda n, stride, kind: b"".join(bytes([kind]) + bytes(range(y, y + stride))
                                            for y in range(n))
    seeds = {
        "parts_grey8_sub": (0, ihdr(4, 3, 8, 0), rows(3, 4, 1)),
        "parts_rgb8_paeth": (0, ihdr(3, 3, 8, 2), rows(3, 9, 4)),
        "parts_palette2_trns": (1 | 2 << 1, ihdr(5, 2, 2, 3) + bytes(range(12)) + b"\x00\x80",
                                rows(2, 2, 3)),
        "parts_grey_alpha16": (0, ihdr(2, 2, 16, 4), rows(2, 8, 2)),
    }
    for name, (mode, part0, part1) in seeds.items():
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(bytes([mode, len(part0) & 255, len(part0) >> 8]) + part0 + part1)
    with open(os.path.join(HERE, "fixtures", "png_expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
