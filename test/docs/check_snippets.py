#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""Compiles every ```cpp block of Markdown files with each compiler given,
and runs the blocks that are whole programs.

    check_snippets.py README.md docs/x.md --include DIR --library LIBZMTP.so --cxx g++ --cxx clang++

A block is
- a whole program when it defines `int main(`: compiled, linked and run
  (it must exit 0 within --deadline seconds; its main is compiled as a
  function of a namespace, so it must return explicitly; `run: no` in its
  snippet comment: compiled and linked only, e.g. a client of a server
  that is not there);
- a translation unit when it has #include lines: compiled as it is;
- a fragment otherwise: the body of a function, `void snippet()` unless
  the HTML comment right before the block says otherwise:

      <!-- snippet
      wrapper: net::awaitable<void> snippet(net::io_context& io, std::string endpoint)
      declare: void send_somewhere(std::span<const std::span<const std::byte>>) {}
      -->

  `wrapper` is the function's head, `declare` (any number) definitions
  placed before it. Fragments see the headers of DEFAULT_INCLUDES and
  `namespace net = boost::asio;`.

Blocks in ```c++ (not ```cpp) are not checked: other libraries' code.
All blocks go into one translation unit per compiler, each in a namespace
of its own, with #line directives: errors point at README lines. Exit
status: 0 all compiled and ran, 1 a block failed, 77 (skip) a compiler is
missing.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

DEFAULT_INCLUDES = [
    "zmtp/socket.hpp",
    "zmtp/asio/connection.hpp",
    "zmtp/asio/duplex_stream.hpp",
    "zmtp/asio/memory_stream.hpp",
    "zmtp/codec/codec.hpp",
    "zmtp/security/authenticator.hpp",
    "zmtp/security/curve_keys.hpp",
    "boost/asio.hpp",
]
WARNINGS = ["-Wall", "-Wextra", "-Werror", "-Wno-unused-variable", "-Wno-unused-parameter",
            "-Wno-unused-but-set-variable", "-Wno-unused-result"]


class Block:
    def __init__(self, source, first_line, text, settings):
        self.source = source  # the Markdown file's name, for #line
        self.first_line = first_line  # 1-based line of the block's first code line
        self.text = text
        self.wrapper = settings.get("wrapper", ["void snippet()"])[-1]
        self.declare = settings.get("declare", [])
        self.program = re.search(r"\bint\s+main\s*\(", text) is not None
        self.run = self.program and settings.get("run", ["yes"])[-1] != "no"
        self.unit = self.program or re.search(r"^\s*#\s*include", text, re.M) is not None


def snippet_settings(lines, fence):
    """The `key: value` lines of a `<!-- snippet ... -->` just above line `fence`."""
    end = fence - 1
    while end >= 0 and not lines[end].strip():
        end -= 1
    if end < 0 or not lines[end].rstrip().endswith("-->"):
        return {}
    start = end
    while start >= 0 and "<!--" not in lines[start]:
        start -= 1
    comment = "\n".join(lines[start:end + 1]).strip()
    if start < 0 or not comment.startswith("<!-- snippet"):
        return {}
    body = comment[len("<!-- snippet"):-len("-->")].lstrip(":")
    settings = {}
    for line in body.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def blocks_of(source, markdown):
    lines = markdown.splitlines()
    found = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```cpp":
            end = i + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            found.append(Block(source, i + 2, "\n".join(lines[i + 1:end]), snippet_settings(lines, i)))
            i = end
        i += 1
    return found


def translation_unit(blocks):
    includes = ["#include <%s>" % h for h in DEFAULT_INCLUDES]
    includes += ["#include <type_traits>"]
    parts = []
    for n, b in enumerate(blocks):
        code = []
        for line in b.text.splitlines():
            if re.match(r"^\s*#\s*include", line):
                includes.append(line.strip())
                line = ""  # keeps the line numbers
            code.append(line)
        parts.append("namespace readme_block_%d {" % n)
        if not b.unit:
            parts.append("namespace net = boost::asio;")
            parts += b.declare
            parts.append(b.wrapper + " {")
        parts.append('#line %d "%s"' % (b.first_line, b.source))
        parts += code
        parts.append("}" if b.unit else "}\n}")
    runner = ["template <class Main> int run_main(Main m, int argc, char** argv) {",
              "    if constexpr (std::is_invocable_v<Main, int, char**>) return m(argc, argv);",
              "    else return m(); }",
              "int main(int argc, char** argv) {",
              "    const int n = argc > 1 ? std::atoi(argv[1]) : -1;"]
    for n, b in enumerate(blocks):
        if b.run:
            runner.append("    if (n == %d) return run_main(readme_block_%d::main, argc - 1, argv + 1);"
                          % (n, n))
    runner.append("    return 2; }")
    seen = set()
    unique = [i for i in includes if not (i in seen or seen.add(i))]
    return "\n".join(unique + ["#include <cstdlib>"] + parts + runner) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("markdown", nargs="+")
    ap.add_argument("--root", default=".", help="Markdown names are given relative to this")
    ap.add_argument("--include", required=True)
    ap.add_argument("--library", required=True, help="the built libzmtp.so")
    ap.add_argument("--cxx", action="append", required=True)
    ap.add_argument("--deadline", type=float, default=20.0)
    args = ap.parse_args()

    blocks = []
    for name in args.markdown:
        with open(os.path.join(args.root, name), encoding="utf-8") as f:
            found = blocks_of(name, f.read())
        if not found:
            print("no ```cpp blocks in %s" % name)
            return 1
        blocks += found
    missing = [c for c in args.cxx if shutil.which(c) is None]
    if missing:
        print("compiler not found: %s" % ", ".join(missing))
        return 77
    lib_dir = os.path.dirname(os.path.abspath(args.library))
    with tempfile.TemporaryDirectory(prefix="zmtp-snippets-") as tmp:
        source = os.path.join(tmp, "snippets.cpp")
        with open(source, "w", encoding="utf-8") as f:
            f.write(translation_unit(blocks))
        # Both compilers at once: the machine has two cores.
        jobs = []
        for cxx in args.cxx:
            exe = os.path.join(tmp, "snippets-" + os.path.basename(cxx))
            cmd = [cxx, "-std=c++20", "-O0", "-pthread", *WARNINGS, "-I", args.include, source,
                   "-o", exe, "-L", lib_dir, "-Wl,-rpath," + lib_dir, "-lzmtp", "-lsodium",
                   "-lssl", "-lcrypto"]
            jobs.append((cxx, exe, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                    stderr=subprocess.STDOUT, text=True)))
        failed = False
        for cxx, exe, job in jobs:
            out, _ = job.communicate()
            if job.returncode != 0:
                print("== %s: the blocks do not compile\n%s" % (cxx, out))
                failed = True
                continue
            print("%s: %d blocks compiled" % (cxx, len(blocks)))
            for n, b in enumerate(blocks):
                if not b.run:
                    continue
                try:
                    run = subprocess.run([exe, str(n)], capture_output=True, text=True,
                                         timeout=args.deadline)
                    ok = run.returncode == 0
                    detail = "exit %d\n%s%s" % (run.returncode, run.stdout, run.stderr)
                except subprocess.TimeoutExpired:
                    ok, detail = False, "no exit within %g s" % args.deadline
                where = "%s line %d (%s)" % (b.source, b.first_line, cxx)
                print("%s: the program %s" % (where, "ran" if ok else "failed: " + detail))
                failed |= not ok
        if failed:
            print("generated source:\n" + "".join(
                "%4d %s\n" % (i + 1, l) for i, l in enumerate(open(source).read().splitlines())))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
