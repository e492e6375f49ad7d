"""Which package files a job runs: the workflow's code dependencies, derived from the imports.

A rule's job is an entry point, ``"<module file>:<function>"`` (``"jobs/ood.py:run_angles"``), or a
whole file (a panel's notebook, outside the package). ``package_files`` reads the entry's imports
with ``ast`` (nothing is imported) and follows every package module they reach, transitively, so
that editing any file a job uses reruns it and nothing else:

- for a ``file:function`` entry: the file's module-level imports, the function's own (the jobs
  import lazily, inside the function) and those of the file's other top-level functions that it
  calls; every other module counts whole (its imports at any depth, in any function);
- ``from a.b import c`` uses the submodule ``a/b/c.py`` where there is one, else the module
  ``a/b``; importing ``a.b.c`` also runs ``a/b/__init__.py``, which is then a dependency but is
  not followed (``from disentangle.metrics.ood import ...`` uses metrics/ood.py, not every metric
  that metrics/__init__.py imports); a package imported by name (``from disentangle.models import
  architecture``) is followed like any module;
- ``cut`` removes import edges ``(importer, imported)``, ``"*"`` standing for any importer: the
  deliberately narrower dependencies, e.g. an experiment's jobs depend on its own architecture's
  model file only (workflow/rules/common.smk, ``code_sources``);
- the dispatch layer (the package's ``__init__.py`` and ``__main__.py``, ``cli.py`` and
  ``jobs/__init__.py``) is never a dependency: it parses the command line and calls the job.

Paths are relative to the package folder (``src/disentangle``), with ``/`` separators.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "disentangle"
ROOT = Path(__file__).resolve().parent
DISPATCH = frozenset({"__init__.py", "__main__.py", "cli.py", "jobs/__init__.py"})
FunctionDefs = ast.FunctionDef | ast.AsyncFunctionDef


@functools.cache
def _module_file(name: str, root: Path) -> str | None:
    """The file (relative to ``root``) of the package module ``name``, or None."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    rel = Path(*parts[1:]) if len(parts) > 1 else Path()
    if (root / rel / "__init__.py").is_file():
        return (rel / "__init__.py").as_posix()
    if rel.parts and (root / rel.with_suffix(".py")).is_file():
        return rel.with_suffix(".py").as_posix()
    return None


def _statements(nodes: Iterable[ast.AST]):
    """Every statement in ``nodes`` and in their blocks, at any depth (imports are statements:
    expressions need not be visited)."""
    for node in nodes:
        yield node
        for block in ("body", "orelse", "finalbody", "handlers", "cases"):
            if block == "body" and _type_checking_only(node):
                continue  # `if TYPE_CHECKING:` imports never run
            yield from _statements(getattr(node, block, None) or ())


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None) if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(nodes: Iterable[ast.AST], root: Path) -> tuple[set[str], set[str]]:
    """The package files that the import statements inside ``nodes`` use (to be followed) and
    the ``__init__.py`` of the packages above them (run, but not followed)."""
    named: set[str] = set()
    for node in nodes:
        for item in _statements([node]):
            if isinstance(item, ast.Import):
                named.update(alias.name for alias in item.names)
            elif isinstance(item, ast.ImportFrom) and item.module and item.level == 0:
                subs = {f"{item.module}.{a.name}" for a in item.names}
                subs = {m for m in subs if _module_file(m, root) is not None}
                named |= subs
                if len(subs) < len(item.names):  # a name defined in the module itself
                    named.add(item.module)
    used, above = set(), set()
    for name in named:
        found = _module_file(name, root)
        if found is not None:
            used.add(found)
        parts = name.split(".")
        above |= {_module_file(".".join(parts[:i]), root) for i in range(1, len(parts))}
    return used, above - used - {None}


@functools.cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


@functools.cache
def _file_imports(path: Path, root: Path) -> tuple[frozenset[str], frozenset[str]]:
    used, above = _imported([_parse(path)], root)
    return frozenset(used), frozenset(above)


def _entry_imports(path: Path, function: str, root: Path) -> tuple[set[str], set[str]]:
    """``_imported`` of the module-level statements of ``path`` (classes included), of its
    top-level ``function`` and of the top-level functions that calls (by name), transitively."""
    tree = _parse(path)
    defs = {n.name: n for n in tree.body if isinstance(n, FunctionDefs)}
    if function not in defs:
        raise ValueError(f"{path}: no top-level function {function!r}; one of {sorted(defs)}")
    nodes = [n for n in tree.body if not isinstance(n, FunctionDefs)]
    todo, seen = [function], set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            nodes.append(defs[name])
            called = {n.id for n in ast.walk(defs[name]) if isinstance(n, ast.Name)}
            todo += sorted(called & set(defs) - seen)
    return _imported(nodes, root)


def package_files(
    entries: Iterable[str], cut: Iterable[tuple[str, str]] = (), root: str | Path = ROOT
) -> list[str]:
    """The package files (sorted, relative to ``root``) that the ``entries`` run, the entries
    themselves included when they are package files. An entry is ``"file:function"`` or
    ``"file"``, relative to ``root`` or absolute."""
    root = Path(root).resolve()
    cut = set(cut)

    def kept(importer: str | None, files) -> set[str]:
        return {f for f in files if (importer, f) not in cut and ("*", f) not in cut}

    found: set[str] = set()  # every file reached
    todo: list[str] = []  # files used by name: their own imports are followed
    for entry in entries:
        path, _, function = entry.partition(":")
        full = (root / path).resolve()
        if function:
            used, above = _entry_imports(full, function, root)
        else:
            used, above = _file_imports(full, root)
        rel = full.relative_to(root).as_posix() if full.is_relative_to(root) else None
        if rel is not None:
            found.add(rel)
        found |= kept(rel, above)
        todo += sorted(kept(rel, used))
    followed: set[str] = set()
    while todo:
        rel = todo.pop()
        if rel in followed or rel in DISPATCH:
            continue
        followed.add(rel)
        used, above = _file_imports(root / rel, root)
        found |= {rel, *kept(rel, above)}
        todo += sorted(kept(rel, used) - followed)
    return sorted(found - DISPATCH)


def narrowing_cut(architecture: str | None = None, check: str | None = None) -> frozenset:
    """The workflow's deliberate narrowings, as ``cut`` edges: a job of an experiment with this
    ``architecture`` does not depend on the other architectures' model files (whoever imports
    them: the registry, or an analysis that dispatches on the type); the theory ``check`` does
    not depend on the modules of the other kinds of check (``theory_checks.py`` imports both the
    closed-form theory and the trained-model studies)."""
    from disentangle.registry_names import ARCHITECTURE_MODULES, THEORY_CHECK_MODULES

    cut = set()
    if architecture is not None:
        own = ARCHITECTURE_MODULES[architecture]
        cut |= {("*", m) for m in set(ARCHITECTURE_MODULES.values()) - {own}}
    if check in THEORY_CHECK_MODULES:
        own = THEORY_CHECK_MODULES[check]
        cut |= {("theory_checks.py", m) for m in set(THEORY_CHECK_MODULES.values()) - {own}}
    return frozenset(cut)
