#!/usr/bin/env bash
# SPDX-License-Identifier: MPL-2.0
# Builds (if needed) and runs every libFuzzer harness for SECONDS each, on a
# scratch copy of its committed corpus (fuzz/corpus/ is never written to).
# Exits non-zero if any harness crashes, leaks or breaks an invariant; the
# reproducer is copied to BUILD_DIR/fuzz-artifacts/<harness>/.
#
#   fuzz/run-fuzzers.sh [BUILD_DIR] [SECONDS] [HARNESS...]
#
# BUILD_DIR (default build-fuzz) is set up with clang and -Dfuzzing=true if
# it does not exist yet. Set KEEP_WORK=1 to keep the grown corpora.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=${1:-$repo/build-fuzz}
# Absolute: the fuzzers run from their scratch directories.
build=$(realpath -m "$build")
secs=${2:-30}
shift $(($# < 2 ? $# : 2))

# Harness -> -max_len: about twice the largest input the layer needs.
declare -A max_len=(
  [greeting]=128
  [frame_header]=64
  [metadata]=4096
  [command]=1024
  [codec]=4096
  [codec_small]=2048
  [codec_ready]=4096
  [plain_client]=4096
  [plain_server]=4096
  [curve_client]=4096
  [curve_server]=4096
  [zws]=4096
  [z85]=128
)
all=(greeting frame_header metadata command codec codec_small codec_ready plain_client plain_server curve_client curve_server zws z85)
harnesses=("${@:-${all[@]}}")

case $secs in
  ''|*[!0-9]*) echo "run-fuzzers: SECONDS must be a number, got '$secs'" >&2; exit 2 ;;
esac

if [ ! -f "$build/build.ninja" ]; then
  CXX=${CXX:-clang++} meson setup "$build" "$repo" -Dfuzzing=true || exit 2
fi
fuzzing=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "fuzzing"][0])')
if [ "$fuzzing" != "True" ]; then
  # Errors out (clearly) if that build directory does not use clang.
  meson configure "$build" -Dfuzzing=true || exit 2
fi
targets=()
for h in "${harnesses[@]}"; do
  [ -n "${max_len[$h]:-}" ] || { echo "run-fuzzers: unknown harness '$h'" >&2; exit 2; }
  targets+=("fuzz/fuzz_$h")
done
# Only the fuzz targets: the rest of the tree need not build for this.
ninja -C "$build" "${targets[@]}" || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/zmtp-fuzz.XXXXXX")
if [ "${KEEP_WORK:-0}" = 1 ]; then
  echo "run-fuzzers: work directory $work"
else
  trap 'rm -rf "$work"' EXIT
fi

failed=0
for h in "${harnesses[@]}"; do
  dir=$work/$h
  mkdir -p "$dir/corpus"
  cp -R "$here/corpus/$h/." "$dir/corpus/"
  (cd "$dir" && "$build/fuzz/fuzz_$h" \
      -max_total_time="$secs" -max_len="${max_len[$h]}" -rss_limit_mb=2048 -timeout=20 \
      -dict="$here/zmtp.dict" -print_final_stats=1 -artifact_prefix="$dir/" \
      corpus >"$dir/log" 2>&1)
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$dir/log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  units=$(ls "$dir/corpus" | wc -l)
  if [ $rc -eq 0 ]; then
    status=ok
  else
    status="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-13s %-18s execs=%-9s cov=%-5s ft=%-6s corpus=%s\n' \
    "$h" "$status" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$units"
  if [ $rc -ne 0 ]; then
    echo "---- $h: last lines of the libFuzzer log" >&2
    tail -n 40 "$dir/log" >&2
    mkdir -p "$build/fuzz-artifacts/$h"
    cp "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* \
      "$build/fuzz-artifacts/$h/" 2>/dev/null
    echo "---- reproducer(s) in $build/fuzz-artifacts/$h/" >&2
  fi
done
exit $failed
