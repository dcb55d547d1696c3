#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""Checks that docs/api.md names every public name of the headers, and
names nothing that is gone.

    check_api_names.py --include DIR --api docs/api.md [--cxx clang++] [--skeleton]

The public names are read from clang's AST of every header under
DIR/zmtp outside detail/ directories: classes, functions, aliases,
variables and enums of namespace zmtp and its namespaces (not `detail`),
and the public members of those classes (not constructors, destructors or
operators). A name counts as documented when api.md holds its last two
components (`socket::bind`, `asio::socket`, `zmtp::codec`) as a whole word.
Every api.md line that starts with "- `NAME" must name something that
exists (NAME up to the first `(`, space or backquote).

--skeleton prints a line per public name with the first sentence of its
header comment: a start for documenting new names by hand.
Exit status: 0 complete, 1 missing or stale names, 77 (skip) no clang.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIPPED_KINDS = {"CXXConstructorDecl", "CXXDestructorDecl", "FriendDecl", "StaticAssertDecl",
                 "CXXConversionDecl", "NamespaceAliasDecl", "UsingDirectiveDecl"}
NAMED_KINDS = {"FunctionDecl", "CXXMethodDecl", "FieldDecl", "VarDecl", "EnumDecl",
               "TypeAliasDecl", "TypedefDecl", "UsingDecl", "TypeAliasTemplateDecl",
               "VarTemplateDecl"}


def public_headers(include):
    root = os.path.join(include, "zmtp")
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x != "detail")
        for f in sorted(files):
            if f.endswith(".hpp"):
                yield os.path.relpath(os.path.join(d, f), include)


def ast_of(cxx, include, comments):
    with tempfile.TemporaryDirectory(prefix="zmtp-api-") as tmp:
        source = os.path.join(tmp, "all.cpp")
        with open(source, "w") as f:
            f.writelines("#include <%s>\n" % h for h in public_headers(include))
        cmd = [cxx, "-std=c++20", "-fsyntax-only", "-I", include, "-Xclang", "-ast-dump=json",
               "-Xclang", "-ast-dump-filter", "-Xclang", "zmtp", source]
        if comments:
            cmd.insert(2, "-fparse-all-comments")
        out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("the headers do not compile alone:\n" + out.stderr)
    decoder = json.JSONDecoder()
    text, i, tops = out.stdout, 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return tops
        node, i = decoder.raw_decode(text, i)
        tops.append(node)


def comment_of(node):
    words = []

    def collect(n):
        if n.get("kind") == "TextComment":
            words.append(n.get("text", "").strip())
        for c in n.get("inner", []):
            collect(c)
    for c in node.get("inner", []):
        if c.get("kind") == "FullComment":
            collect(c)
    text = " ".join(w for w in words if w)
    first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0] if text else ""
    return first if len(first) <= 120 else first[:first.rfind(" ", 0, 117)] + " …"


def public_names(tops):
    names = {}

    def walk(node, scope, access=None):
        for d in node.get("inner", []):
            kind, name = d.get("kind"), d.get("name", "")
            if kind == "AccessSpecDecl":
                access = d["access"]
                continue
            if d.get("isImplicit") or access in ("private", "protected") or kind in SKIPPED_KINDS:
                continue
            if kind == "NamespaceDecl":
                if name not in ("detail", ""):
                    walk(d, scope + [name])
                continue
            if kind in ("ClassTemplateDecl", "FunctionTemplateDecl"):
                inner = [x for x in d.get("inner", []) if x.get("kind") in
                         ("CXXRecordDecl", "FunctionDecl", "CXXMethodDecl", "CXXConstructorDecl")]
                if not inner:
                    continue
                d, kind = inner[0], inner[0]["kind"]
                if kind == "CXXConstructorDecl":
                    continue
            if not name or name.startswith("operator"):
                continue
            if kind == "CXXMethodDecl" and node.get("kind") == "NamespaceDecl":
                continue  # a member defined out of its class: declared (or private) there
            qualified = "::".join(scope + [name.split("::")[-1]])
            if kind == "CXXRecordDecl":
                names.setdefault(qualified, comment_of(d))
                if d.get("completeDefinition"):
                    walk(d, scope + [name], "private" if d.get("tagUsed") == "class" else "public")
            elif kind in NAMED_KINDS:
                names.setdefault(qualified, comment_of(d))
    for top in tops:
        if top.get("kind") == "NamespaceDecl" and top.get("name") == "zmtp":
            walk(top, ["zmtp"])
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--include", required=True)
    ap.add_argument("--api", required=True)
    ap.add_argument("--cxx", default="clang++")
    ap.add_argument("--skeleton", action="store_true")
    args = ap.parse_args()
    if shutil.which(args.cxx) is None:
        print("%s not found" % args.cxx)
        return 77
    names = public_names(ast_of(args.cxx, args.include, args.skeleton))
    if args.skeleton:
        for n in sorted(names):
            parts = n.split("::")
            print("- `%s` — %s" % ("::".join(parts[1:] if len(parts) > 2 else parts), names[n]))
        return 0
    with open(args.api, encoding="utf-8") as f:
        api = f.read()
    short = {n: "::".join(n.split("::")[-2:]) for n in names}
    missing = sorted(n for n, s in short.items()
                     if not re.search(r"(?<!\w)%s(?!\w)" % re.escape(s), api))
    # Every suffix of every public name, to recognise what a line names.
    known = {"::".join(n.split("::")[i:]) for n in names for i in range(len(n.split("::")))}
    stale = []
    for number, line in enumerate(api.splitlines(), 1):
        m = re.match(r"- `([\w:]+)", line)
        if m and m.group(1) not in known:
            stale.append("%s:%d: %s" % (args.api, number, m.group(1)))
    for n in missing:
        print("not in %s: %s" % (args.api, n))
    for s in stale:
        print("names nothing public: %s" % s)
    print("%d public names, %d missing, %d stale lines" % (len(names), len(missing), len(stale)))
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
