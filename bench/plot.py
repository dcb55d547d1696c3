#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""Plots zmtp-bench's JSON lines: one SVG per scenario family (push_pull
over one transport and mechanism), payload MB/s of every implementation
against message size, both axes logarithmic. Python 3 standard library only.

    zmtp-bench --reps 3 > run.txt
    bench/plot.py run.txt OUTDIR        # writes OUTDIR/push_pull-tcp.svg, ...

A run made with --busy N gives files named ...-busyN.svg.
"""
import json
import math
import os
import sys
from collections import defaultdict

W, H = 720, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 150, 40, 50
COLOURS = {
    "zmtp": "#1f77b4", "zmtp-try": "#17becf", "libzmq": "#d62728",
    "libzmq-procs": "#ff7f0e", "floor": "#2ca02c", "zmtp-tcp": "#9467bd",
    "zmtp-null": "#8c564b", "zmtp-ipc": "#e377c2",
}


def read_results(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                yield json.loads(line)


def size_label(n):
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div and n % div == 0:
            return f"{n // div} {unit}"
    return f"{n} B"


def esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg(title, series):
    """series: {impl: [(size, mb_per_s), ...]} -> SVG text."""
    xs = sorted({x for pts in series.values() for x, _ in pts})
    ys = [y for pts in series.values() for _, y in pts]
    lx0, lx1 = math.log10(xs[0]), math.log10(xs[-1])
    if lx1 == lx0:
        lx1 = lx0 + 1
    ly0 = math.floor(math.log10(min(ys)))
    ly1 = math.ceil(math.log10(max(ys)))
    if ly1 == ly0:
        ly1 = ly0 + 1
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x):
        return LEFT + (math.log10(x) - lx0) / (lx1 - lx0) * pw

    def py(y):
        return TOP + ph - (math.log10(y) - ly0) / (ly1 - ly0) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">{esc(title)}</text>']
    for e in range(ly0, ly1 + 1):
        y = py(10 ** e)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{10.0 ** e:g}</text>')
    for x in xs:
        X = px(x)
        out.append(f'<line x1="{X:.1f}" y1="{TOP}" x2="{X:.1f}" y2="{TOP + ph}" stroke="#eee"/>')
        out.append(f'<text x="{X:.1f}" y="{TOP + ph + 18}" text-anchor="middle">{size_label(x)}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 8}" text-anchor="middle">message size</text>')
    out.append(f'<text transform="translate(16,{TOP + ph / 2}) rotate(-90)" '
               f'text-anchor="middle">payload MB/s (median)</text>')
    for k, (impl, pts) in enumerate(sorted(series.items())):
        colour = COLOURS.get(impl, "black")
        pts = sorted(pts)
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        ly = TOP + 10 + 18 * k
        out.append(f'<line x1="{LEFT + pw + 12}" y1="{ly}" x2="{LEFT + pw + 32}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{LEFT + pw + 38}" y="{ly + 4}">{esc(impl)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    source, outdir = argv[1], argv[2]
    families = defaultdict(lambda: defaultdict(list))
    busy = 0
    for r in read_results(source):
        busy = r.get("busy", 0) or 0
        if r["scenario"] != "push_pull" or not r.get("mb_per_s"):
            continue
        key = (r["transport"], r["mechanism"])
        families[key][r["impl"]].append((r["size"], r["mb_per_s"]))
    if not families:
        sys.stderr.write(f"plot.py: no push_pull results in {source}\n")
        return 1
    os.makedirs(outdir, exist_ok=True)
    suffix = f"-busy{busy}" if busy else ""
    for (transport, mechanism), series in sorted(families.items()):
        if max(len(p) for p in series.values()) < 2:
            continue  # one size only: nothing to plot against
        name = f"push_pull-{transport.replace('+', '_')}"
        title = f"push→pull over {transport}"
        if mechanism != "null":
            name += f"-{mechanism}"
            title += f", {mechanism}"
        if busy:
            title += f", {busy} busy thread(s)"
        path = os.path.join(outdir, name + suffix + ".svg")
        with open(path, "w", encoding="utf-8") as f:
            f.write(svg(title, series))
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
