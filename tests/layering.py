#!/usr/bin/env python3
"""The layering of DESIGN.md, enforced: a module includes only its own headers and those
of the modules its CMake target depends on (directly or not), and public headers
(include/ferry/) include only public headers. Run by ctest as unit.layering; it prints
every include that breaks the rule, with the file and line, and fails.

A module is a folder of src/ with a `ferry_module(NAME ... DEPS ...)` in CMakeLists.txt
(the nbdkit plugin's target is read from its target_link_libraries). Public headers
belong to the module that implements them (OWNERS below). Tests and fuzz targets are
left out: their targets name what they link.

    tests/layering.py [SOURCE_DIR]
"""
import pathlib
import re
import sys

# Which module implements each public header.
OWNERS = {
    "status.h": "common", "units.h": "common", "range.h": "common", "io_event.h": "common",
    "volume.h": "volume", "journal.h": "journal", "trace.h": "trace",
    "predictor.h": "predict", "policy.h": "sched",
    "engine.h": "engine", "live.h": "engine", "watch.h": "engine", "export.h": "engine",
}


def module_deps(cmake: str) -> dict:
    deps = {}
    for m in re.finditer(r"ferry_module\((\w+)(.*?)\)\s*$", cmake, re.S | re.M):
        name, body = m.group(1), m.group(2)
        tail = body.split("DEPS", 1)[1] if "DEPS" in body else ""
        deps[name] = set(re.findall(r"\bferry_(\w+)", tail))
    plugin = re.search(r"target_link_libraries\(nbdkit-ferry-plugin PRIVATE([^)]*)\)", cmake)
    deps["nbdkit"] = set(re.findall(r"\bferry_(\w+)", plugin.group(1))) if plugin else set()
    return deps


def closure(deps: dict, name: str) -> set:
    seen, todo = set(), [name]
    while todo:
        for d in deps.get(todo.pop(), ()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    deps = module_deps((root / "CMakeLists.txt").read_text())
    modules = {p.name for p in (root / "src").iterdir() if p.is_dir()}
    unknown = sorted(modules - set(deps))
    if unknown:
        print(f"layering: src/{unknown[0]} has no ferry_module() in CMakeLists.txt: give it one with its DEPS")
        return 1
    include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    broken = []
    for mod in sorted(modules):
        allowed = closure(deps, mod) | {mod}
        for f in sorted((root / "src" / mod).iterdir()):
            if f.suffix not in (".h", ".cc") or f.stem.endswith(("_test", "_fuzz")) or f.name.startswith("test_"):
                continue
            text = f.read_text()
            for m in include.finditer(text):
                inc = m.group(1)
                top = inc.split("/", 1)[0]
                owner = OWNERS.get(inc.split("/", 1)[1], "?") if top == "ferry" else top if top in modules else None
                if owner is None or owner in allowed:
                    continue
                line = text.count("\n", 0, m.start()) + 1
                broken.append(f"src/{mod}/{f.name}:{line}: includes {inc} of module '{owner}', "
                              f"which ferry_{mod} does not depend on")
    for f in sorted((root / "include" / "ferry").glob("*.h")):
        if f.name not in OWNERS:
            broken.append(f"include/ferry/{f.name}: no owning module in tests/layering.py OWNERS")
        text = f.read_text()
        for m in include.finditer(text):
            if not m.group(1).startswith("ferry/"):
                line = text.count("\n", 0, m.start()) + 1
                broken.append(f"include/ferry/{f.name}:{line}: a public header includes the private {m.group(1)}")
    for b in broken:
        print("layering:", b)
    if not broken:
        print(f"layering: {len(modules)} modules keep to their dependencies")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
