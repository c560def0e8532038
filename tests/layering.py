#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""layering: checks every include in server/ against the module map of README.md's Development section.

usage: tests/layering.py [SOURCE_ROOT]

It fails when a file in server/ is missing from the map (or the map names a module that is
gone), includes a third-party header its family does not own (or that the library table keeps
to a few modules of the family: <yaml.h> is for yamltree and config only), includes a header this script
does not know (a new library belongs in the library table), includes the header of a layer
above its own, or includes another family's private header (NAME_int.h). Each failure says
what to change where.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
README = os.path.join(ROOT, "README.md")
SERVER = os.path.join(ROOT, "server")
MAP_HEADING = "### Module map"
WHERE = "README.md, section \"Module map\" under \"Development\""

# Headers of the C library, POSIX and Linux: everything else in <...> belongs to a library of
# the library table.
SYSTEM = {
    # C11
    "assert.h", "complex.h", "ctype.h", "errno.h", "fenv.h", "float.h", "inttypes.h", "iso646.h",
    "limits.h", "locale.h", "math.h", "setjmp.h", "signal.h", "stdalign.h", "stdarg.h",
    "stdatomic.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h", "stdlib.h", "stdnoreturn.h",
    "string.h", "tgmath.h", "threads.h", "time.h", "uchar.h", "wchar.h", "wctype.h",
    # POSIX and glibc
    "aio.h", "cpio.h", "dirent.h", "dlfcn.h", "endian.h", "err.h", "fcntl.h", "fnmatch.h",
    "getopt.h", "glob.h", "grp.h", "ifaddrs.h", "langinfo.h", "libgen.h", "netdb.h", "nl_types.h",
    "poll.h", "pthread.h", "pwd.h", "regex.h", "sched.h", "search.h", "semaphore.h", "spawn.h",
    "strings.h", "syslog.h", "sysexits.h", "termios.h", "ulimit.h", "unistd.h", "utime.h",
    "wordexp.h", "malloc.h", "alloca.h", "features.h", "execinfo.h", "paths.h",
}
SYSTEM_DIRS = ("sys/", "netinet/", "arpa/", "net/", "linux/", "asm/", "bits/")

failures = []


def fail(msg):
    failures.append(msg)


def read_tables():
    """The rows of the tables under MAP_HEADING, as lists of cells, table by table."""
    try:
        text = open(README, encoding="utf-8").read()
    except OSError as e:
        sys.exit(f"layering: cannot read {README}: {e}")
    start = text.find("\n" + MAP_HEADING + "\n")
    if start < 0:
        sys.exit(f"layering: README.md has no '{MAP_HEADING}' heading (the map this test reads)")
    body = text[start + len(MAP_HEADING) + 2:]
    end = re.search(r"^#{1,3} ", body, re.M)
    body = body[:end.start()] if end else body
    tables, rows = [], None
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("|"):
            cells = [c.strip().strip("`").strip() for c in line.strip("|").split("|")]
            if rows is None:
                rows = {"head": [c.lower() for c in cells], "rows": []}
                tables.append(rows)
            elif not set("".join(cells)) <= set("-: "):
                rows["rows"].append(cells)
        else:
            rows = None
    return tables


def table(tables, first):
    for t in tables:
        if t["head"] and t["head"][0] == first:
            return t
    sys.exit(f"layering: {WHERE} has no table whose first column is '{first}'")


tables = read_tables()
layer_t, module_t, lib_t = table(tables, "layer"), table(tables, "module"), table(tables, "library")
edge_t = next((t for t in tables if t["head"] and t["head"][0] == "upward edge"), {"rows": []})

# layers, lowest first: | layer | what it holds |
layers = [r[0] for r in layer_t["rows"]]
rank = {name: i for i, name in enumerate(layers)}

# modules: | module | layer | family |
modules = {}
for r in module_t["rows"]:
    if len(r) < 3:
        fail(f"{WHERE}: row {r} needs three cells: | module | layer | family |")
        continue
    name, layer, family = r[0], r[1], r[2]
    if name in modules:
        fail(f"{WHERE}: module '{name}' is listed twice")
    if layer not in rank:
        fail(f"{WHERE}: module '{name}' has layer '{layer}'; the layers are {', '.join(layers)}")
    modules[name] = (layer, family)
families = {f for _, f in modules.values()}

# libraries: | library | headers | families | only these modules |; headers ending in / match a
# folder; the optional fourth cell narrows the families to the modules it names (libyaml: yamltree
# and config, not the rest of the config family)
libraries = []
for r in lib_t["rows"]:
    if len(r) < 3:
        fail(f"{WHERE}: row {r} needs three cells: | library | headers | families |")
        continue
    heads = [h.strip().strip("`<>") for h in r[1].split(",")]
    owners = {f.strip() for f in r[2].split(",")}
    only = {m.strip() for m in r[3].split(",") if m.strip()} if len(r) > 3 else set()
    for f in owners - families:
        fail(f"{WHERE}: library '{r[0]}' is owned by family '{f}', which no module has")
    for m in sorted(only):
        if m not in modules:
            fail(f"{WHERE}: library '{r[0]}' names module '{m}', which is not in the module table")
        elif modules[m][1] not in owners:
            fail(f"{WHERE}: library '{r[0]}' names module '{m}', whose family '{modules[m][1]}' does not own it")
    libraries.append((r[0], heads, owners, only))

# known upward edges, listed so they stay visible until removed: | upward edge | why |
allowed_edges = set()
for r in edge_t["rows"]:
    m = re.fullmatch(r"(\S+)\s*->\s*(\S+)", r[0])
    if not m:
        fail(f"{WHERE}: upward edge '{r[0]}' should read 'file.c -> header.h'")
        continue
    allowed_edges.add((m.group(1), m.group(2)))


def library_of(header):
    for name, heads, owners, only in libraries:
        for h in heads:
            if header == h or (h.endswith("/") and header.startswith(h)):
                return name, owners, only
    return None


def is_system(header):
    return header in SYSTEM or header.startswith(SYSTEM_DIRS)


files = sorted(f for f in os.listdir(SERVER) if f.endswith((".c", ".h")))
present = {os.path.splitext(f)[0] for f in files}
for name in sorted(present - set(modules)):
    these = " and ".join(f"server/{f}" for f in files if os.path.splitext(f)[0] == name)
    fail(f"{these}: not in the module map: add a row '| {name} | LAYER | FAMILY |' "
         f"to the module table in {WHERE} (layers, lowest first: {', '.join(layers)})")
for name in sorted(set(modules) - present):
    fail(f"{WHERE} lists module '{name}', which has no file in server/: remove its row")

used_edges = set()
include = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
for f in files:
    name = os.path.splitext(f)[0]
    if name not in modules:
        continue
    layer, family = modules[name]
    with open(os.path.join(SERVER, f), encoding="utf-8") as src:
        for lineno, line in enumerate(src, 1):
            m = include.match(line)
            if not m:
                continue
            kind, header = m.groups()
            at = f"server/{f}:{lineno}"
            if kind == "<":
                lib = library_of(header)
                if lib is None:
                    if not is_system(header):
                        fail(f"{at}: <{header}> is neither a system header nor in the library table: add "
                             f"'| LIBRARY | {header} | FAMILY |' to the library table in {WHERE}, "
                             "or, if it is a system header, to SYSTEM in tests/layering.py")
                elif family not in lib[1]:
                    fail(f"{at}: <{header}> is {lib[0]}, which only family {' and '.join(sorted(lib[1]))} may include; "
                         f"{f} is in family '{family}': move the call behind that family's interface")
                elif lib[2] and name not in lib[2]:
                    fail(f"{at}: <{header}> is {lib[0]}, which only the modules {' and '.join(sorted(lib[2]))} may "
                         f"include (the library table in {WHERE}); {f} is not one of them: move the call behind "
                         "their interface")
                continue
            target = os.path.splitext(os.path.basename(header))[0]
            if target not in modules or target == name:
                continue
            tlayer, tfamily = modules[target]
            if target.endswith("_int") and tfamily != family:
                fail(f"{at}: \"{header}\" is private to family '{tfamily}'; {f} is in family '{family}'")
            if rank.get(tlayer, 0) > rank.get(layer, 0):
                if (f, header) in allowed_edges:
                    used_edges.add((f, header))
                else:
                    fail(f"{at}: \"{header}\" is layer '{tlayer}', above {f}'s layer '{layer}' "
                         f"(layers, lowest first: {', '.join(layers)}): pass what it needs in from above, "
                         f"or move the code to the layer it belongs to")

for f, h in sorted(allowed_edges - used_edges):
    fail(f"{WHERE} lists the upward edge '{f} -> {h}', which is gone: remove its row")

if failures:
    for msg in failures:
        print("FAIL:", msg)
    print(f"layering: {len(failures)} problem(s) in {len(files)} files")
    sys.exit(1)
print(f"layering: {len(files)} files in {len(modules)} modules, {len(layers)} layers, "
      f"{len(libraries)} libraries: every include in its place"
      + (f" ({len(used_edges)} known upward edge(s) listed in README)" if used_edges else ""))
