#!/bin/sh
# SPDX-License-Identifier: MPL-2.0
# Builds and runs the consumer project with zmtp as its subproject, then
# installs zmtp from BUILD_DIR into a staging directory and compiles the
# same program against the installed headers, library and zmtp.pc.
#   run.sh SOURCE_ROOT BUILD_DIR [CXX]
set -eu
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
cxx=${3:-${CXX:-c++}}
here="$src/test/subproject-consumer"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "== consumer project, zmtp as a subproject"
mkdir -p "$tmp/consumer/subprojects"
cp "$here/meson.build" "$here/round_trip.cpp" "$tmp/consumer/"
ln -s "$src" "$tmp/consumer/subprojects/zmtp"
# buildtype plain (no -O, no -g): what is checked is that it builds and
# links as a subproject; the library's code is tested elsewhere.
CXX="$cxx" meson setup --buildtype=plain "$tmp/build" "$tmp/consumer" >"$tmp/setup.log" 2>&1 ||
  { cat "$tmp/setup.log"; exit 1; }
ninja -C "$tmp/build" -j 2 >"$tmp/ninja.log" 2>&1 || { cat "$tmp/ninja.log"; exit 1; }
meson test -C "$tmp/build" --print-errorlogs
# The parent's install brings zmtp's shared library, not its headers.
meson install -C "$tmp/build" --no-rebuild --destdir "$tmp/parent-root" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; exit 1; }
if [ -n "$(find "$tmp/parent-root" -name socket.hpp -o -name zmtp.pc)" ]; then
  echo "installing the parent project installed zmtp's headers or zmtp.pc"; exit 1
fi

echo "== meson install of zmtp"
meson install -C "$build" --no-rebuild --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; exit 1; }
pc=$(find "$tmp/root" -name zmtp.pc)
[ -n "$pc" ] || { echo "zmtp.pc was not installed"; exit 1; }
for f in include/zmtp/socket.hpp include/zmtp/asio/socket.hpp include/zmtp/codec/codec.hpp; do
  [ -n "$(find "$tmp/root" -path "*/$f")" ] || { echo "$f was not installed"; exit 1; }
done
lib=$(find "$tmp/root" -name 'libzmtp.so*' -o -name 'libzmtp.a' | head -n 1)
[ -n "$lib" ] || { echo "libzmtp was not installed"; exit 1; }
echo "installed: $pc, $(dirname "$lib")"

echo "== a program built against the installed zmtp.pc"
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=$(pkg-config --cflags --libs zmtp)
echo "pkg-config --cflags --libs zmtp: $flags"
case "$flags" in *-std=c++20*) ;; *) echo "zmtp.pc does not ask for C++20"; exit 1 ;; esac
# shellcheck disable=SC2086
"$cxx" -o "$tmp/round-trip" "$here/round_trip.cpp" $flags
LD_LIBRARY_PATH="$(dirname "$lib")" "$tmp/round-trip"
echo "== ok"
