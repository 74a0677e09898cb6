#!/usr/bin/env python3
"""How the code is shared out, and how much of it repeats.

    deploy/local/measure.py            # lines per crate, the gateway's share, repeated runs
    deploy/local/measure.py --pairs    # also list each repeated pair

Counts the Rust under crates/ and services/, not tests: a file under
`tests/`, and everything from a `#[cfg(test)]` line to the file's end
(the project keeps its unit tests last in a file), are left out. Blank
lines and comment lines are not counted.

A repeated run is six or more lines in a row that stand alike in two
places: the same text once white space is folded and names, strings and
numbers are put aside (so two copies that differ only in a name count).
Lines of lone punctuation, `use` lines and attributes are passed over.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP_FOLDERS = ("crates", "services")
MIN_RUN = 6

STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
NUMBER = re.compile(r"\b\d[\d_]*(?:\.\d+)?\b")
NAME = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
KEYWORDS = set(
    "as async await break const continue crate else enum fn for if impl in let loop match mod "
    "move mut pub ref return self Self static struct super trait type unsafe use where while "
    "Some None Ok Err true false".split()
)


def rust_files():
    for top in TOP_FOLDERS:
        for folder, subfolders, files in os.walk(os.path.join(ROOT, top)):
            subfolders[:] = [s for s in subfolders if s not in ("tests", "target")]
            for name in sorted(files):
                if name.endswith(".rs"):
                    yield os.path.join(folder, name)


def code_lines(path):
    """(line number, text) of each counted line."""
    lines = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            text = line.strip()
            if text.startswith("#[cfg(test)]"):
                break
            if not text or text.startswith("//"):
                continue
            lines.append((number, text))
    return lines


def shape(text):
    text = STRING.sub("S", text)
    text = NUMBER.sub("N", text)
    text = NAME.sub(lambda m: m.group(0) if m.group(0) in KEYWORDS else "x", text)
    return re.sub(r"\s+", " ", text)


def worth_pairing(text):
    if text.startswith(("use ", "pub use ", "#[", "#![")):
        return False
    return re.search(r"[A-Za-z0-9]", text) is not None


def same_text(text):
    return re.sub(r"\s+", " ", text)


def repeated_runs(files, alike):
    """Runs of MIN_RUN or more lines standing alike in two places."""
    sequences = {}
    for path, lines in files.items():
        kept = [(n, alike(t)) for n, t in lines if worth_pairing(t)]
        sequences[path] = kept
    windows = {}
    for path, kept in sequences.items():
        for i in range(len(kept) - MIN_RUN + 1):
            key = tuple(s for _, s in kept[i : i + MIN_RUN])
            windows.setdefault(key, []).append((path, i))
    pairs = {}
    for places in windows.values():
        if len(places) < 2 or len(places) > 8:
            continue
        for a in range(len(places)):
            for b in range(a + 1, len(places)):
                (pa, ia), (pb, ib) = places[a], places[b]
                if pa == pb and abs(ia - ib) < MIN_RUN:
                    continue
                pairs.setdefault((pa, pb, ia - ib), []).append((ia, ib))
    runs = []
    for (pa, pb, _), starts in pairs.items():
        starts.sort()
        run_start = prev = starts[0]
        for start in starts[1:] + [None]:
            if start is not None and start[0] == prev[0] + 1:
                prev = start
                continue
            length = prev[0] - run_start[0] + MIN_RUN
            la = sequences[pa][run_start[0]][0], sequences[pa][run_start[0] + length - 1][0]
            lb = sequences[pb][run_start[1]][0], sequences[pb][run_start[1] + length - 1][0]
            runs.append((length, pa, la, pb, lb))
            if start is not None:
                run_start = prev = start
    runs.sort(reverse=True)
    return runs


def main():
    files = {path: code_lines(path) for path in rust_files()}
    per_package = {}
    for path, lines in files.items():
        parts = os.path.relpath(path, ROOT).split(os.sep)
        package = "/".join(parts[:2])
        per_package[package] = per_package.get(package, 0) + len(lines)
    total = sum(per_package.values())
    print(f"{'package':<22} {'lines':>7} {'share':>6}")
    for package, count in sorted(per_package.items(), key=lambda kv: -kv[1]):
        print(f"{package:<22} {count:>7} {100 * count / total:>5.1f}%")
    print(f"{'all':<22} {total:>7}")
    same = repeated_runs(files, same_text)
    print(f"runs of {MIN_RUN}+ lines the same in two places: {len(same)} pairs, {sum(r[0] for r in same)} lines")
    runs = repeated_runs(files, shape)
    print(f"runs of {MIN_RUN}+ lines alike but for names and values: {len(runs)} pairs, {sum(r[0] for r in runs)} lines")
    if "--pairs" in sys.argv:
        for length, pa, la, pb, lb in runs:
            ra, rb = os.path.relpath(pa, ROOT), os.path.relpath(pb, ROOT)
            print(f"  {length:>3}  {ra}:{la[0]}-{la[1]} ~ {rb}:{lb[0]}-{lb[1]}")


if __name__ == "__main__":
    main()
