#!/usr/bin/env python3
"""Check libvfiokit's exported ABI against the committed list.

    check-symbols.py LIBRARY LIST HEADER_DIR       check (a meson test, suite abi)
    check-symbols.py --update LIBRARY LIST         rewrite LIST from LIBRARY

Checks, each counted in the "N passed, N failed" line:
  symbols   the dynamic symbols LIBRARY defines (nm -D --defined-only, with
            their version node) are exactly those in LIST;
  declared  each exported function is declared in a public header, and each
            function the public headers declare is exported;
  headers   every public header is included by vfiokit.h and installed
            (listed in HEADER_DIR/meson.build).
A change to the exported set must be deliberate: run --update and commit
the list with the change (see docs/development.md).
"""
import os
import re
import subprocess
import sys

UPDATE_HINT = """\
If this change of the ABI is deliberate, update the list and commit it with
the change:
    scripts/check-symbols.py --update {lib} {lst}
A removed symbol (or a changed signature) breaks programs built against the
old library: see "The ABI" in docs/development.md first."""


def exported(lib):
    """The library's defined dynamic symbols, as name@@node (nm's spelling)."""
    out = subprocess.run(["nm", "-D", "--defined-only", "--format=posix", lib],
                         check=True, capture_output=True, text=True).stdout
    return sorted({line.split()[0] for line in out.splitlines() if line.strip()})


def read_list(path):
    with open(path) as f:
        return sorted({line.strip() for line in f
                       if line.strip() and not line.startswith("#")})


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def public_headers(header_dir):
    """Header names a user includes: *.h, and *.h.in that meson configures."""
    names = []
    for name in sorted(os.listdir(header_dir)):
        if name.endswith(".h"):
            names.append(name)
        elif name.endswith(".h.in"):
            names.append(name[:-3])
    return names


def declared_functions(header_dir):
    names = set()
    for name in sorted(os.listdir(header_dir)):
        if not (name.endswith(".h") or name.endswith(".h.in")):
            continue
        with open(os.path.join(header_dir, name)) as f:
            text = strip_comments(f.read())
        # Macros (vfk_err(...)) are not functions of the library.
        text = re.sub(r"^\s*#\s*define[^\n]*(\\\n[^\n]*)*", " ", text, flags=re.M)
        names.update(re.findall(r"\b(vfk_\w+)\s*\(", text))
    return names


def check_symbols(lib, lst):
    have, want = set(exported(lib)), set(read_list(lst))
    if have == want:
        return []
    errs = [f"{os.path.basename(lib)} exports other symbols than {lst}:"]
    errs += [f"  + {s}   (exported, not in the list)" for s in sorted(have - want)]
    errs += [f"  - {s}   (in the list, not exported)" for s in sorted(want - have)]
    errs.append(UPDATE_HINT.format(lib=os.path.abspath(lib), lst=os.path.relpath(lst)))
    return errs


def check_declared(lib, header_dir):
    funcs = {s.split("@")[0] for s in exported(lib) if s.startswith("vfk_")}
    decl = declared_functions(header_dir)
    errs = [f"{s} is exported but no public header declares it: declare it in "
            f"include/vfiokit/ (public) or in a private header (hidden)"
            for s in sorted(funcs - decl)]
    errs += [f"{s} is declared in include/vfiokit/ but not exported (not "
             f"defined, static, or hidden)" for s in sorted(decl - funcs)]
    return errs


def check_headers(header_dir):
    with open(os.path.join(header_dir, "vfiokit.h")) as f:
        umbrella = set(re.findall(r"#include <vfiokit/([\w.]+)>", f.read()))
    with open(os.path.join(header_dir, "meson.build")) as f:
        installed = set(re.findall(r"'([\w.]+\.h)'", f.read()))
    # version.h is generated: installed by its configure_file, not the list.
    installed.add("version.h")
    errs = []
    for name in public_headers(header_dir):
        if name != "vfiokit.h" and name not in umbrella:
            errs.append(f"vfiokit.h does not include <vfiokit/{name}>")
        if name not in installed:
            errs.append(f"{name} is not installed: add it to {header_dir}/meson.build")
    return errs


def main(argv):
    if len(argv) == 4 and argv[1] == "--update":
        lib, lst = argv[2], argv[3]
        with open(lst, "w") as f:
            f.write("# Symbols libvfiokit.so exports (scripts/check-symbols.py --update).\n")
            f.writelines(s + "\n" for s in exported(lib))
        print(f"{lst}: {len(exported(lib))} symbols; review the diff and commit it")
        return 0
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    lib, lst, header_dir = argv[1:]
    failed = 0
    for name, errs in (("symbols", check_symbols(lib, lst)),
                       ("declared", check_declared(lib, header_dir)),
                       ("headers", check_headers(header_dir))):
        print(f"{'FAIL' if errs else 'ok'}: {name}")
        for e in errs:
            print(e)
        failed += bool(errs)
    print(f"{3 - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
