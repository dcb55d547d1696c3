#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""Markdown tables for the README from zmtp-bench's output.

    bench/readme_table.py run.txt                # one run: medians, ratios, targets
    bench/readme_table.py run.txt busy.txt       # ratios of the quiet run -> the busy run
    bench/readme_table.py --check README.md run.txt [busy.txt]
                                                 # fails unless README.md holds that table

A run's output is JSON lines (the medians) followed by two text tables; the
ratio table carries what the JSON lines do not: the per-repetition ranges,
which libzmq arrangement was the faster, the targets and the verdicts. Its
columns are found from the positions of its header's names, since a value
may fill its column up to the next one. Python 3's standard library only.
"""
import json
import sys

BASELINES = ("zmtp-tcp", "zmtp-null", "zmtp-ipc")


def results(path):
    """The JSON lines, keyed by (scenario name as the tables print it, impl)."""
    out = {}
    for line in open(path, encoding="utf-8"):
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        out[(name_of(r), r["impl"])] = r
    return out


def name_of(r):
    name = f'{r["scenario"]} {r["transport"]}'
    if r["mechanism"] != "null" or r["scenario"] == "handshake":
        name += f' {r["mechanism"]}'
    if r["size"] is not None and r["scenario"] != "handshake":
        name += " " + size_label(r["size"], r["scenario"])
    return name


def size_label(n, scenario):
    if scenario == "push_pull_3frame":
        return f"{n} B"
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def ratio_rows(path):
    """The ratio table's rows as dicts of its header's column names."""
    lines = open(path, encoding="utf-8").read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("scenario") and "x/libzmq" in l)
    header = lines[start]
    names = header.split()
    cuts = []
    at = 0
    for n in names:
        at = header.index(n, at)
        cuts.append(at)
        at += len(n)
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(cuts, cuts[1:] + [len(line) + 1])]
        row = dict(zip(names, cells))
        rows[(row["scenario"], row["impl"])] = row
    return rows


def rate(v):
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if v >= scale:
            return f"{v / scale:.2f} {unit}/s" if unit == "M" else f"{v / scale:.1f} {unit}/s"
    return f"{v:.0f}/s"


def cell(r):
    if r is None:
        return "–"
    if r["scenario"] == "idle_memory":
        return f'{r["peak_rss_kb"]:.1f} KiB/conn'
    if r["p50_us"] is not None:
        return f'{r["p50_us"]:.1f} / {r["p99_us"]:.1f} µs'
    text = rate(r["msgs_per_s"])
    if r["mb_per_s"] is not None:
        text += f' ({r["mb_per_s"]:.0f} MB/s)'
    if r["size"] and r["size"] >= 1 << 20:
        text += f', RSS {r["peak_rss_kb"] / 1024:.0f} MB'
    if r["delivered_fraction"] is not None:
        text += f', {r["delivered_fraction"] * 100:.0f} % delivered'
    return text


def scenarios(rows):
    seen = []
    for name, _ in rows:
        if name not in seen:
            seen.append(name)
    return seen


def baseline_of(row):
    """(column name, value) of the ratio to the floor or to zmtp-try's baseline."""
    if row is None:
        return None, "–"
    for col in ("x/floor",) + tuple("x/" + b for b in BASELINES):
        if row.get(col, "-") not in ("-", ""):
            return col[2:], row[col]
    return None, "-"


def one_run(path):
    res, ratios = results(path), ratio_rows(path)
    out = ["| scenario | zmtp (co_await) | zmtp-try | libzmq, the faster arrangement | "
           "floor (or zmtp-try's baseline) | zmtp / zmtp-try ÷ libzmq [range] | "
           "zmtp / zmtp-try ÷ floor (or baseline) | target | verdict (zmtp / zmtp-try) |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in scenarios(ratios):
        z, t = ratios.get((name, "zmtp")), ratios.get((name, "zmtp-try"))
        arrangement = (z or t)["libzmq"]
        lib = cell(res.get((name, arrangement)))
        if (name, "libzmq-procs") in res and (name, "libzmq") in res:
            lib += " (a process per peer)" if arrangement == "libzmq-procs" else " (one process)"
        base = baseline_of(t or z)[0]
        zb, tb = baseline_of(z)[1], baseline_of(t)[1]
        if base in ("floor", None):
            floor, to_floor = cell(res.get((name, "floor"))), f"{zb} / {tb}"
        else:  # zmtp-try's baseline, for which the co_await loop has no ratio
            floor, to_floor = f"{base}: {cell(res.get((name, base)))}", f"÷ {base}: {tb}"
        out.append("| " + " | ".join([
            name, cell(res.get((name, "zmtp"))), cell(res.get((name, "zmtp-try"))), lib, floor,
            f'{z["x/libzmq"] if z else "–"} / {t["x/libzmq"] if t else "–"}',
            to_floor,
            next((r["target"] for r in (z, t) if r and r["target"] != "-"), "-"),
            f'{z["verdict"] if z else "–"} / {t["verdict"] if t else "–"}']) + " |")
    return "\n".join(out)


def quiet_busy(quiet, busy):
    q, b = ratio_rows(quiet), ratio_rows(busy)
    out = ["| scenario | zmtp ÷ libzmq quiet → busy | zmtp-try ÷ libzmq quiet → busy | "
           "zmtp-try ÷ floor (or its baseline) quiet → busy | libzmq arrangement (busy) | "
           "verdict busy (zmtp / zmtp-try) |",
           "| --- | --- | --- | --- | --- | --- |"]

    def median(row, col):
        return row[col].split(" [")[0] if row and row.get(col, "-") not in ("-", "") else "–"

    for name in scenarios(q):
        zq, zb = q.get((name, "zmtp")), b.get((name, "zmtp"))
        tq, tb = q.get((name, "zmtp-try")), b.get((name, "zmtp-try"))
        base = baseline_of(tq or zq)[0]
        col = f"x/{base}" if base else "x/floor"
        some = zb or tb
        out.append("| " + " | ".join([
            name,
            f'{median(zq, "x/libzmq")} → {median(zb, "x/libzmq")}',
            f'{median(tq, "x/libzmq")} → {median(tb, "x/libzmq")}',
            f'{median(tq, col)} → {median(tb, col)}',
            some["libzmq"] if some else "–",
            f'{zb["verdict"] if zb else "–"} / {tb["verdict"] if tb else "–"}']) + " |")
    return "\n".join(out)


def main(argv):
    check = None
    if len(argv) > 2 and argv[1] == "--check":
        check, argv = argv[2], argv[:1] + argv[3:]
    if len(argv) not in (2, 3):
        sys.exit("usage: readme_table.py [--check README.md] RUN.txt [BUSY.txt]")
    table = one_run(argv[1]) if len(argv) == 2 else quiet_busy(argv[1], argv[2])
    if check is None:
        print(table)
    elif table not in open(check, encoding="utf-8").read():
        sys.exit(f"{check} does not hold the table made from {' '.join(argv[1:])}")


if __name__ == "__main__":
    main(sys.argv)
