#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Line coverage of the codec, wire and security code reached by the fuzz
# corpora: every libFuzzer harness, built with clang's source-based
# coverage (-fprofile-instr-generate -fcoverage-mapping), runs its corpus
# once (-runs=0); llvm-cov's line counts of all the harnesses are joined
# for each file of src/codec, src/wire and src/security, with their totals.
#
#   fuzz/coverage.sh [BUILD_DIR] [CORPUS_ROOT]
#
# BUILD_DIR (default build-fuzz-cov) is set up with clang if it does not
# exist. CORPUS_ROOT (default fuzz/corpus) holds one directory per
# harness, or <harness>/corpus as `KEEP_WORK=1 fuzz/run-fuzzers.sh` leaves
# them after a longer run. Set LLVM_PROFDATA / LLVM_COV for other tool names.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=$(realpath -m "${1:-$repo/build-fuzz-cov}")
corpora=$(realpath "${2:-$here/corpus}")
profdata=${LLVM_PROFDATA:-llvm-profdata}
cov=${LLVM_COV:-llvm-cov}
harnesses=$(sed -n "s/^  '\([a-z0-9_]*\)',$/\1/p" "$here/meson.build")

if [ ! -f "$build/build.ninja" ]; then
  # (meson runs a sanity-check program: its profile goes nowhere)
  LLVM_PROFILE_FILE=/dev/null CXX=${CXX:-clang++} meson setup "$build" "$repo" -Dfuzzing=true -Dbench=disabled \
    "-Dcpp_args=-fprofile-instr-generate -fcoverage-mapping" \
    -Dcpp_link_args=-fprofile-instr-generate >/dev/null
fi
targets=()
for h in $harnesses; do targets+=("fuzz/fuzz_$h"); done
ninja -C "$build" "${targets[@]}" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/zmtp-fuzz-cov.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Each harness with its own profile and binary (one profile over all the
# binaries finds "mismatched data" for the header functions they compile
# differently), then the lines that any harness covered.
for h in $harnesses; do
  dir=$corpora/$h
  [ -d "$dir/corpus" ] && dir=$dir/corpus
  [ -d "$dir" ] || { echo "fuzz-coverage: no corpus for $h in $corpora" >&2; exit 2; }
  LLVM_PROFILE_FILE="$work/$h.profraw" "$build/fuzz/fuzz_$h" -runs=0 "$dir" >"$work/$h.log" 2>&1 ||
    { echo "fuzz-coverage: $h failed on its corpus" >&2; tail -20 "$work/$h.log" >&2; exit 1; }
  "$profdata" merge -sparse "$work/$h.profraw" -o "$work/$h.profdata"
  "$cov" export -format=lcov -instr-profile "$work/$h.profdata" "$build/fuzz/fuzz_$h" >"$work/$h.lcov"
done

python3 - "$build" "$repo" "$work"/*.lcov <<'EOF'
import os, sys
from collections import defaultdict
build, repo = sys.argv[1], sys.argv[2]
lines = defaultdict(dict)  # file -> line -> covered by some harness
for path in sys.argv[3:]:
    name = None
    for row in open(path):
        if row.startswith("SF:"):
            name = os.path.relpath(os.path.normpath(os.path.join(build, row[3:].strip())), repo)
        elif row.startswith("DA:") and name:
            line, count = row[3:].split(",")[:2]
            lines[name][line] = lines[name].get(line, False) or int(count) > 0
totals = defaultdict(lambda: [0, 0])
print(f"{'file':44} {'lines':>13} {'covered':>8}")
for name in sorted(lines):
    if not name.startswith(("src/codec/", "src/wire/", "src/security/")):
        continue
    covered, count = sum(lines[name].values()), len(lines[name])
    print(f"{name:44} {covered:>6}/{count:<6} {100 * covered / max(count, 1):>7.1f}%")
    t = totals[name.split("/")[1]]
    t[0] += covered
    t[1] += count
for d, (c, n) in sorted(totals.items()):
    print(f"{'src/' + d + ' (total)':44} {c:>6}/{n:<6} {100 * c / max(n, 1):>7.1f}%")
EOF
