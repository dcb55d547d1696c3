#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""Fail if any core header of zmtp depends on a Boost header.

usage: check_no_boost.py INCLUDE_DIR -- CXX [CXX ARGS...]

The core (include/zmtp/{wire,codec,security,pattern}, error.hpp, message.hpp,
socket_type.hpp) must build with the standard library alone. Boost lives in
/usr/include, so it cannot be taken off the include path; instead each
header's full dependency list (the compiler's -M output) is searched for
"boost". A control header that includes Boost is checked first, so a
broken check cannot pass silently.
"""
import pathlib
import subprocess
import sys
import tempfile


def dependencies(cxx, include_dir, header):
    cmd = cxx + ["-x", "c++", "-I", str(include_dir), "-M", str(header)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr}")
    # Make output: "target: dep dep \\\n dep ..."
    text = result.stdout.replace("\\\n", " ")
    _, _, deps = text.partition(":")
    return deps.split()


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    include_dir = pathlib.Path(argv[1]).resolve()
    cxx = argv[3:]
    zmtp = include_dir / "zmtp"

    headers = [zmtp / "error.hpp", zmtp / "message.hpp", zmtp / "socket_type.hpp"]
    for layer in ("wire", "codec", "security", "pattern"):
        headers += sorted((zmtp / layer).rglob("*.hpp"))
    missing = [h for h in headers if not h.is_file()]
    if missing:
        print("missing core headers: " + ", ".join(map(str, missing)), file=sys.stderr)
        return 1

    # Control: a header that does include Boost must be caught.
    with tempfile.TemporaryDirectory() as tmp:
        control = pathlib.Path(tmp) / "control.hpp"
        control.write_text("#include <boost/version.hpp>\n")
        try:
            control_deps = dependencies(cxx, include_dir, control)
        except RuntimeError as e:
            print(f"control check could not run (is Boost installed?): {e}", file=sys.stderr)
            return 1
        if not any("boost" in d for d in control_deps):
            print("control header including Boost was not detected", file=sys.stderr)
            return 1

    failed = 0
    for header in headers:
        deps = dependencies(cxx, include_dir, header)
        boost = [d for d in deps if "boost" in d.lower()]
        rel = header.relative_to(include_dir)
        if boost:
            failed += 1
            print(f"FAIL {rel} depends on Boost: {boost[0]}")
        else:
            print(f"ok   {rel} ({len(deps) - 1} dependencies)")
    print(f"{len(headers)} headers checked, {failed} depend on Boost")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
