#!/usr/bin/env python3
"""End-to-end test of `mnist_train --report DIR` and of a sweep's
comparison page (`--sweep ... --report DIR`).

Usage: test_report.py MNIST_TRAIN

Generates a tiny MNIST-format data set (IDX files, gzip-compressed, of
synthetic 28x28 patterns), trains LeNet on it for two epochs with --report
and --json, then checks every file of the report with independent code:
each PNG decoded (chunks and CRCs, zlib, un-filtering, sizes), each SVG
parsed as XML, index.html's references and tag balance, metrics.json
against --json. Then a 2x2 sweep: its index.html (every run linked, the
table sorted by test accuracy, the best run marked, links back) and its
curves.svg. Then resnet-small, a residual net: its layer table gives
each layer's name and what a layer reads when not just the previous
output (LeNet's, a chain's, keeps its four columns), and its training-
health table the names. When chromium is installed it also renders both pages
headless and requires screenshots that are not blank and show the SVGs
(the sweep's: a colour per run); without chromium that part is reported
as SKIPPED (exit code 77).
"""
import gzip
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser

SKIP = 77
SVG_NS = "{http://www.w3.org/2000/svg}"
PICTURES = ["curves.svg", "confusion.svg", "filters.png", "misclassified.png"]


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


# ------------------------------------------------------------------ data

def write_idx(path, magic, dims, payload):
    """An IDX file: magic, big-endian dimensions, then the bytes; gzipped."""
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)
    with gzip.open(path, "wb") as f:
        f.write(header + bytes(payload))


def pattern(label, rng):
    """A 28x28 image of class `label`: a bright 8x8 square whose place says
    the class (two rows of five places), jittered, on a noisy background."""
    top = 3 + (label // 5) * 13 + rng.randint(-1, 1)
    left = 1 + (label % 5) * 5 + rng.randint(-1, 1)
    pixels = bytearray(rng.randint(0, 40) for _ in range(28 * 28))
    for y in range(top, top + 8):
        for x in range(left, left + 8):
            if 0 <= y < 28 and 0 <= x < 28:
                pixels[y * 28 + x] = rng.randint(180, 255)
    return pixels


def make_dataset(directory, train_count, test_count):
    """Writes the four MNIST files. A tenth of the test labels are random,
    so that there are always misclassified images to draw."""
    rng = random.Random(5)
    for prefix, count in (("train", train_count), ("t10k", test_count)):
        labels = [rng.randrange(10) for _ in range(count)]
        images = bytearray()
        for label in labels:
            images += pattern(label, rng)
        if prefix == "t10k":
            labels = [rng.randrange(10) if rng.random() < 0.1 else l for l in labels]
        write_idx(os.path.join(directory, prefix + "-images-idx3-ubyte.gz"),
                  0x803, [count, 28, 28], images)
        write_idx(os.path.join(directory, prefix + "-labels-idx1-ubyte.gz"),
                  0x801, [count], labels)


# ------------------------------------------------------------------- PNG

def unfilter(raw, width, height, channels):
    """Reverses PNG's per-row filters (0 None, 1 Sub, 2 Up, 3 Average,
    4 Paeth); returns the rows as bytearrays."""
    stride = width * channels
    check(len(raw) == height * (stride + 1),
          "PNG data is %d bytes, expected %d" % (len(raw), height * (stride + 1)))
    rows, prev, pos = [], bytearray(stride), 0
    for _ in range(height):
        kind = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += stride + 1
        check(kind <= 4, "unknown PNG filter %d" % kind)
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = prev[i]
                c = prev[i - channels] if i >= channels else 0
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return rows


def decode_png(path):
    """Independent decoder: signature, chunks with their CRCs, IHDR, IDATs
    inflated by zlib (which checks the Adler-32), rows un-filtered.
    Returns (width, height, channels, rows, filters used)."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", path + ": bad PNG signature")
    pos, idat, ihdr, types = 8, b"", None, []
    while pos < len(data):
        check(pos + 12 <= len(data), path + ": truncated chunk")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        check(zlib.crc32(kind + body) == crc, "%s: bad CRC in %r" % (path, kind))
        types.append(kind)
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    check(types[0] == b"IHDR" and types[-1] == b"IEND", path + ": chunk order")
    width, height, depth, color, _, _, interlace = ihdr
    check(depth == 8 and interlace == 0, path + ": not 8-bit non-interlaced")
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = zlib.decompress(idat)
    filters = {raw[y * (width * channels + 1)] for y in range(height)}
    return width, height, channels, unfilter(raw, width, height, channels), filters


def pixel(rows, channels, x, y):
    return tuple(rows[y][x * channels:x * channels + 3])


def colours(rows, channels):
    return {pixel(rows, channels, x, y)
            for y in range(len(rows)) for x in range(len(rows[0]) // channels)}


def near(colour_set, target, tolerance=12):
    return any(all(abs(a - b) <= tolerance for a, b in zip(c, target)) for c in colour_set)


def check_filters_png(path, filters, kernel):
    """LeNet's 16 5x5 filters in rows of 8, each enlarged at least 8 times
    (to 48 pixels or more a side), stretched over its own min..max (so each
    tile spans 0..255) and numbered in white in a 20-pixel band below it:
    wider numbers from 10 on."""
    width, height, ch, rows, used = decode_png(path)
    check(used == {0}, path + ": our encoder writes filter type 0 only")
    cols, tile_rows, label = 8, (filters + 7) // 8, 20
    check((width - 6) % cols == 0, path + ": width %d is not 8 tiles" % width)
    pitch = (width - 6) // cols
    scale = (pitch - 6) // kernel
    check(pitch == scale * kernel + 6 and scale >= 8 and scale * kernel >= 48,
          path + ": tiles of %d px do not show %dx%d filters enlarged" % (pitch, kernel, kernel))
    check(height == tile_rows * (pitch + label) + 6,
          path + ": height %d for %d rows with labels" % (height, tile_rows))
    tile = pitch - 6
    for i in range(filters):
        x0, y0 = 6 + (i % cols) * pitch, 6 + (i // cols) * (pitch + label)
        values = [rows[y][x * ch] for y in range(y0, y0 + tile) for x in range(x0, x0 + tile)]
        check(min(values) == 0 and max(values) == 255,
              "%s: filter %d is not scaled to its own min..max" % (path, i))
        ink = [x for y in range(y0 + tile, y0 + tile + label)
               for x in range(x0, x0 + tile) if pixel(rows, ch, x, y) == (255, 255, 255)]
        check(ink, "%s: filter %d has no number below it" % (path, i))
        span = max(ink) - min(ink) + 1
        check((span > 12) == (i >= 10) and abs((min(ink) + max(ink)) / 2 - (x0 + tile / 2)) <= 3,
              "%s: the number below filter %d is not %d centred digit(s)"
              % (path, i, len(str(i))))


def check_misclassified_png(path, errors):
    """A grid of up to 40 images, 10 per row, with green and red labels."""
    width, height, ch, rows, used = decode_png(path)
    check(used == {0}, path + ": our encoder writes filter type 0 only")
    shown = min(errors, 40)
    cols = min(shown, 10)
    grid_rows = (shown + cols - 1) // cols
    check(width % cols == 0 and height % grid_rows == 0,
          "%s: %dx%d is not a grid of %dx%d cells" % (path, width, height, cols, grid_rows))
    check(width // cols >= 56 and height // grid_rows >= 56,
          path + ": cells smaller than twice the images")
    found = colours(rows, ch)
    check(near(found, (0, 120, 40), 0) and near(found, (200, 0, 0), 0),
          path + ": no true (green) and predicted (red) labels drawn")
    check(len(found) > 100, path + ": looks blank")


# -------------------------------------------------------------- SVG, HTML

def check_svgs(out, metrics):
    curves = ET.parse(os.path.join(out, "curves.svg")).getroot()
    check(curves.tag == SVG_NS + "svg", "curves.svg: root is not <svg>")
    lines = curves.findall(".//" + SVG_NS + "polyline")
    check(len(lines) == 4, "curves.svg: %d lines, expected 4" % len(lines))
    for line in lines:
        check(len(line.get("points").split()) == 2, "curves.svg: a line lacks a point per epoch")
    texts = [t.text or "" for t in curves.iter(SVG_NS + "text")]
    for word in ("train", "test", "epoch", "Accuracy (%)", "Loss (cross-entropy)"):
        check(word in texts, "curves.svg: no text '%s' (axes, legend)" % word)
    check(sum(t.replace(".", "").isdigit() for t in texts) >= 10, "curves.svg: too few tick labels")

    confusion = ET.parse(os.path.join(out, "confusion.svg")).getroot()
    check(confusion.tag == SVG_NS + "svg", "confusion.svg: root is not <svg>")
    counts = [int(t.text) for t in confusion.iter(SVG_NS + "text")
              if t.get("fill") and (t.text or "").isdigit()]
    expected = [c for row in metrics["confusion"] for c in row]
    check(counts == expected, "confusion.svg: cell counts differ from metrics.json")
    names = {t.text for t in confusion.iter(SVG_NS + "text")}
    check(all(str(k) in names for k in range(10)), "confusion.svg: class names missing")
    cells = [r for r in confusion.iter(SVG_NS + "rect") if (r.get("fill") or "").startswith("rgb(")]
    check(len(cells) == 100, "confusion.svg: %d cells, expected 100" % len(cells))


class PageParser(HTMLParser):
    """Collects references and checks that tags nest properly."""
    VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "wbr"}

    def __init__(self):
        super().__init__()
        self.refs, self.stack, self.tags, self.errors = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        for key in ("src", "href"):
            if key in attrs:
                self.refs.append(attrs[key])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append("unbalanced </%s>" % tag)


def check_page(out, parser):
    """Feeds out/index.html to parser: well-formed, self-contained (every
    reference a file there, no scripts), no longer refreshing."""
    with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
        parser.feed(f.read())
    parser.close()
    page = os.path.join(out, "index.html")
    check(not parser.errors and not parser.stack,
          "%s is not well-formed: %s %s" % (page, parser.errors, parser.stack))
    for ref in parser.refs:
        check("://" not in ref and not ref.startswith("//"), page + ": external reference " + ref)
        check(os.path.isfile(os.path.join(out, ref)), page + " refers to missing " + ref)
    check(not any(tag == "script" for tag, _ in parser.tags), page + " has a script")
    check(not any(a.get("http-equiv") == "refresh" for _, a in parser.tags),
          page + " still refreshes after the last epoch")
    return parser


def check_html(out):
    parser = check_page(out, PageParser())
    for name in PICTURES + ["metrics.json"]:
        check(name in parser.refs, "index.html does not show " + name)


# --------------------------------------------------------------- browser

def find_browser():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(page, work, name):
    """Renders page headless into work/name (1200x2000); returns its set of
    colours, or None without chromium."""
    browser = find_browser()
    if not browser:
        return None
    shot = os.path.join(work, name)
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--hide-scrollbars",
               "--user-data-dir=" + os.path.join(work, "profile"),
               "--screenshot=" + shot, "--window-size=1200,2000",
               "file://" + os.path.abspath(page)]
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                timeout=60)
    except subprocess.TimeoutExpired:
        fail("chromium did not finish within 60 s")
    check(os.path.isfile(shot), "chromium wrote no screenshot:\n" +
          result.stdout.decode(errors="replace")[-2000:])
    width, height, ch, rows, _ = decode_png(shot)
    check((width, height) == (1200, 2000), "screenshot is %dx%d" % (width, height))
    found = colours(rows, ch)
    print("%s: %d distinct colours" % (name, len(found)))
    check(len(found) >= 500, "the screenshot looks blank (%d colours)" % len(found))
    return found


def browser_check(out, work):
    """Renders index.html headless; the screenshot must have many colours,
    the curves' train colour and the confusion matrix's darkest shade (so
    the SVGs were drawn, not broken-image icons). False when skipped."""
    found = screenshot(os.path.join(out, "index.html"), work, "screenshot.png")
    if found is None:
        return False
    check(near(found, (31, 102, 180)), "the curves (train colour) are not on screen")
    check(near(found, (8, 48, 107), 40), "the confusion matrix is not on screen")
    return True


# ------------------------------------------------------------ a sweep

# The comparison's first four run colours.
RUN_COLOURS = [(31, 102, 180), (232, 113, 10), (44, 160, 44), (214, 39, 40)]


class TableParser(PageParser):
    """Also collects the rows of the runs' table: classes, cell texts, the
    accuracy cell, links."""

    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell = [], None, None

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "tr" and "run" in classes:
            self.row = {"classes": classes, "cells": [], "acc": None, "links": []}
            self.rows.append(self.row)
        elif tag == "td" and self.row is not None:
            self.cell = {"text": "", "acc": "acc" in classes}
            self.row["cells"].append(self.cell)
        elif tag == "a" and self.row is not None:
            self.row["links"].append(attrs.get("href"))

    def handle_endtag(self, tag):
        super().handle_endtag(tag)
        if tag == "tr":
            self.row = None
        elif tag == "td" and self.cell is not None:
            if self.cell["acc"]:
                self.row["acc"] = self.cell["text"].strip()
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell["text"] += data


def check_sweep(top, names):
    """The sweep's comparison page: well-formed and self-contained, every
    run linked once, the table sorted by test accuracy as metrics.json has
    it, the best finished run marked, curves.svg valid XML with a line per
    run in each of its four plots and a legend by the settings that
    differ; each run's own report links back."""
    metrics = {n: json.load(open(os.path.join(top, n, "metrics.json"))) for n in names}
    parser = check_page(top, TableParser())
    check("curves.svg" in parser.refs, "sweep index.html does not show curves.svg")
    check(len(parser.rows) == len(names), "%d rows for %d runs" % (len(parser.rows), len(names)))
    linked = [link[:-len("/index.html")] for row in parser.rows for link in row["links"]]
    check(sorted(linked) == sorted(names), "runs linked: %s, expected %s" % (linked, names))
    accuracies = [float(row["acc"].rstrip("%")) for row in parser.rows]
    check(accuracies == sorted(accuracies, reverse=True), "table not sorted: %s" % accuracies)
    for row, acc in zip(parser.rows, accuracies):
        name = row["links"][0][:-len("/index.html")]
        check(abs(acc - 100 * metrics[name]["test_accuracy"]) < 0.006,
              "%s: %.2f%% in the table, %s in metrics.json" % (name, acc, metrics[name]["test_accuracy"]))
    best = [row for row in parser.rows if "best" in row["classes"]]
    check(len(best) == 1, "%d rows marked best" % len(best))
    check(float(best[0]["acc"].rstrip("%")) == max(accuracies), "the best row is not the most accurate")
    check(best[0] is parser.rows[0], "the best run is not first")

    svg = ET.parse(os.path.join(top, "curves.svg")).getroot()
    check(svg.tag == SVG_NS + "svg", "sweep curves.svg: root is not <svg>")
    lines = svg.findall(".//" + SVG_NS + "polyline")
    check(len(lines) == 4 * len(names), "sweep curves.svg: %d lines for %d runs" % (len(lines), len(names)))
    texts = [t.text or "" for t in svg.iter(SVG_NS + "text")]
    for title in ("Test loss (cross-entropy)", "Test accuracy (%)",
                  "Training loss (cross-entropy)", "Training accuracy (%)"):
        check(title in texts, "sweep curves.svg: no plot '%s'" % title)
    for name in names:  # "lr=0.01,batch=32" -> legend "lr=0.01, batch=32"
        check(name.replace(",", ", ") in texts, "sweep curves.svg: no legend for " + name)
    for name in names:
        check_html(os.path.join(top, name))
        with open(os.path.join(top, name, "index.html"), encoding="utf-8") as f:
            check('href="../index.html"' in f.read(), name + ": no link to the comparison")


# ------------------------------------------------------- layer tables

class SectionTables(PageParser):
    """Also collects every table's rows (lists of cell texts, header cells
    included) under the <h2> or <h3> title before it."""

    def __init__(self):
        super().__init__()
        self.title, self.tables, self.heading = "", [], None
        self.row = self.cell = None

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        if tag in ("h2", "h3"):
            self.heading = ""
        elif tag == "table":
            self.tables.append((self.title, []))
        elif tag == "tr" and self.tables:
            self.row = []
            self.tables[-1][1].append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        super().handle_endtag(tag)
        if tag in ("h2", "h3") and self.heading is not None:
            self.title, self.heading = self.heading.strip(), None
        elif tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr":
            self.row = None

    def handle_data(self, data):
        if self.heading is not None:
            self.heading += data
        if self.cell is not None:
            self.cell += data


def page_tables(out, title):
    """The rows of each table under the heading `title` in out/index.html."""
    parser = check_page(out, SectionTables())
    return [rows for t, rows in parser.tables if t == title]


CHAIN_COLUMNS = ["#", "layer", "output (c, h, w)", "parameters"]


def check_chain_layers(out):
    """LeNet's layer table: the four columns, a row per layer."""
    tables = page_tables(out, "Layers")
    check(len(tables) == 1, "%s: %d layer tables" % (out, len(tables)))
    rows = tables[0]
    check(rows[0] == CHAIN_COLUMNS, "a chain's layer table has columns %s" % rows[0])
    check(all(len(r) == 4 for r in rows), "a chain's layer table has rows of other lengths")
    check([r[1] for r in rows[2:-1]][:3] == ["conv2d", "relu", "maxpool"],
          "lenet's first layers: %s" % rows[2:5])


def check_graph_layers(out):
    """resnet-small's layer table: a name and a reads column; its
    training-health table: the names."""
    tables = page_tables(out, "Layers")
    check(len(tables) == 1, "%s: %d layer tables" % (out, len(tables)))
    rows = tables[0]
    check(rows[0] == CHAIN_COLUMNS + ["name", "reads"],
          "a graph's layer table has columns %s" % rows[0])
    check(all(len(r) == 6 for r in rows), "a graph's layer table has rows of other lengths")
    layers = {int(r[0]): r[1:] for r in rows if r[0].isdigit()}
    check(len(layers) == 44, "resnet-small: %d layers in the table" % len(layers))
    want = {2: ["relu", "16, 28, 28", "0", "s0", ""],
            3: ["conv2d", "16, 28, 28", "2320", "", ""],
            8: ["add", "16, 28, 28", "0", "", "7, s0"],
            9: ["relu", "16, 28, 28", "0", "b1", ""],
            14: ["batchnorm", "32, 14, 14", "64", "m1", ""],
            15: ["conv2d", "32, 14, 14", "544", "", "b1"],
            17: ["add", "32, 14, 14", "0", "", "16, m1"],
            43: ["dense", "10, 1, 1", "650", "", ""]}
    for i, cells in want.items():
        check(layers[i] == cells, "resnet-small layer %d: %s, expected %s" % (i, layers[i], cells))
    check(rows[-1][1] == "total" and rows[-1][3] == "170826", "total row: %s" % rows[-1])
    health = [t for t in page_tables(out, "Epoch 1")]
    check(len(health) == 1, "resnet-small: %d training-health tables" % len(health))
    check(health[0][0][:3] == ["#", "layer", "name"], "health columns: %s" % health[0][0])
    named = {r[0]: r[2] for r in health[0][1:]}
    check(named.get("34") == "b4" and named.get("2") == "s0",
          "health table: relu 34 named %r, 2 %r" % (named.get("34"), named.get("2")))


# ------------------------------------------------------------------ main# ------------------------------------------------------------------ main

def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    mnist_train = sys.argv[1]
    work = tempfile.mkdtemp(prefix="nn_test_report.")
    try:
        data, out = os.path.join(work, "data"), os.path.join(work, "report")
        json_path = os.path.join(work, "run.json")
        os.mkdir(data)
        make_dataset(data, 600, 200)
        start = time.time()
        run = subprocess.run([mnist_train, "--data", data, "--model", "lenet",
                              "--epochs", "2", "--limit", "500", "--threads", "1",
                              "--report", out, "--json", json_path],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        log = run.stdout.decode(errors="replace")
        check(run.returncode == 0, "mnist_train failed:\n" + log)
        print("training with --report: %.1f s" % (time.time() - start))

        with open(json_path) as f:
            metrics = json.load(f)
        with open(os.path.join(out, "metrics.json")) as f:
            check(json.load(f) == metrics, "metrics.json differs from --json")
        check(len(metrics["epochs"]) == 2, "metrics.json: not two epochs")
        errors = 200 - sum(metrics["confusion"][k][k] for k in range(10))
        check(errors > 0, "no misclassified images (the data should make some)")

        check_filters_png(os.path.join(out, "filters.png"), 16, 5)
        check_misclassified_png(os.path.join(out, "misclassified.png"), errors)
        check_svgs(out, metrics)
        check_html(out)
        check_chain_layers(out)
        leftovers = [n for n in os.listdir(out) if n not in PICTURES + ["index.html", "metrics.json"]]
        check(not leftovers, "unexpected files in the report: %s" % leftovers)

        bad = subprocess.run([mnist_train, "--data", data, "--epochs", "1",
                              "--report", "/dev/null/report"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        check(bad.returncode == 1 and b"--report" in bad.stdout,
              "an impossible --report directory is not refused")

        graph = os.path.join(work, "graph")
        start = time.time()
        run = subprocess.run([mnist_train, "--data", data, "--model", "resnet-small",
                              "--epochs", "1", "--limit", "64", "--batch", "32",
                              "--threads", "2", "--report", graph],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        check(run.returncode == 0, "mnist_train --model resnet-small failed:\n" +
              run.stdout.decode(errors="replace"))
        check_html(graph)
        check_graph_layers(graph)
        print("resnet-small with --report: %.1f s, its layer table checked" % (time.time() - start))

        runs = os.path.join(work, "runs")
        sweep = subprocess.run([mnist_train, "--data", data, "--model", "mlp",
                                "--sweep", "lr=0.01,0.1", "--sweep", "batch=32,64",
                                "--epochs", "2", "--limit", "500", "--threads", "1",
                                "--report", runs],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        check(sweep.returncode == 0, "mnist_train --sweep failed:\n" +
              sweep.stdout.decode(errors="replace"))
        names = ["lr=%s,batch=%s" % (lr, b) for lr in ("0.01", "0.1") for b in ("32", "64")]
        check(sorted(n for n in os.listdir(runs) if os.path.isdir(os.path.join(runs, n)))
              == sorted(names), "sweep directories: %s" % os.listdir(runs))
        check_sweep(runs, names)

        if not browser_check(out, work):
            print("SKIPPED: chromium is not installed, so the browser check did "
                  "not run (all file checks passed)")
            return SKIP
        screenshot(os.path.join(graph, "index.html"), work, "graph.png")
        found = screenshot(os.path.join(runs, "index.html"), work, "sweep.png")
        for colour in RUN_COLOURS:
            check(near(found, colour), "the sweep's run colour %s is not on screen" % (colour,))
        print("PASS: report files, %d misclassified test images, a residual net's layer "
              "table, a sweep's comparison, browser rendering" % errors)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
