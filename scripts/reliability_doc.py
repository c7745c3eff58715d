#!/usr/bin/env python3
"""Copy the fault tests' figures into docs/reliability.md.

The fault tests (tests/fault/, CTest label `fault`) and the fuzzers
(tests/fuzz/run.py, label `fuzz`, and `make fuzz`) write what they measured
as `section.name = value` lines into the build folder's reliability.txt.
This script replaces the block between the markers
    <!-- figures:begin --> ... <!-- figures:end -->
of docs/reliability.md with a table of those lines, so the figures in the
document are always the tests' own, never typed by hand. A section the
figures file has replaces all of that section's rows; the rows of the other
sections stay as the document has them (a run of the fuzzers alone keeps
the fault tests' figures of an earlier run, and `make fault-long` keeps the
fuzzers').

usage: scripts/reliability_doc.py [BUILD_DIR [DOC]]   (defaults: build, docs/reliability.md)
       scripts/reliability_doc.py --check [BUILD_DIR [DOC]]
--check exits 1 when the document's block differs from what the figures give."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


def read_figures(path):
    figures = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            key, sep, value = line.partition(" = ")
            if not sep or "." not in key:
                raise SystemExit(f"{path}:{n}: not 'section.name = value': {line!r}")
            section, name = key.split(".", 1)
            figures.append((section, name, value))
    return figures


def doc_figures(block_text):
    """The (section, name, value) rows of an existing figures block."""
    rows = []
    for line in block_text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) != 3 or cells[0] == "test" or \
                set(cells[0]) <= set("-"):
            continue
        rows.append((cells[0], cells[1].replace(" ", "_"), cells[2]))
    return rows


def merge(old, new):
    """new's rows, and old's rows of the sections new does not have."""
    sections = {section for section, _, _ in new}
    return [row for row in old if row[0] not in sections] + new


def block(figures, source):
    out = [BEGIN, "", f"Written by `scripts/reliability_doc.py` from `{source}`; "
           "do not edit by hand.", "", "| test | figure | value |", "|---|---|---|"]
    for section, name, value in sorted(figures):
        out.append(f"| {section} | {name.replace('_', ' ')} | {value} |")
    out += ["", END]
    return "\n".join(out)


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    build = args[0] if args else os.path.join(ROOT, "build")
    doc = args[1] if len(args) > 1 else os.path.join(ROOT, "docs", "reliability.md")
    src = os.path.join(build, "reliability.txt")
    if not os.path.exists(src):
        raise SystemExit(f"{src}: no figures (run the fault tests: ctest -L fault)")
    with open(doc) as f:
        text = f.read()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"{doc}: needs exactly one {BEGIN} ... {END} block")
    head, rest = text.split(BEGIN, 1)
    old_block, tail = rest.split(END, 1)
    figures = merge(doc_figures(old_block), read_figures(src))
    new = head + block(figures, "build/reliability.txt") + tail
    if check:
        if new != text:
            print(f"{doc}: figures differ from {src}", file=sys.stderr)
            return 1
        return 0
    if new != text:
        tmp = doc + ".tmp"
        with open(tmp, "w") as f:
            f.write(new)
        os.replace(tmp, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
