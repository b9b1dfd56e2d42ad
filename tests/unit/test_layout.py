"""The layout's rules, checked on the source: no import cycle, tools apart, rooms that fit.

Imports inside functions count: a cycle hidden in a function still ties two
modules together. Imports under ``if TYPE_CHECKING:`` do not run and are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pipeline"

BEING_REWRITTEN: tuple[str, ...] = ()
"""Code another change is rebuilding; the size rules apply to it once that lands."""

MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _run_time_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement except those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _run_time_imports(ast.Module(body=node.orelse, type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _run_time_imports(node)


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in _run_time_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                assert node.level == 0, f"{name}: relative import"
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            for target in targets:
                found = resolve(target)
                if found is not None and found != name:
                    graph[name].add(found)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle_even_through_imports_inside_functions() -> None:
    assert _cycle(_import_graph()) is None


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        # The data path never needs the tools; the tools may use everything else.
        (("pipeline.",), ("pipeline.tools", "pipeline.cli")),
        # nlp is pure: no Kafka, no Faust, no stages.
        (("pipeline.nlp",), ("pipeline.broker", "pipeline.stages", "pipeline.app")),
        # The broker side knows settings and topics, not what runs on it.
        (("pipeline.broker",), ("pipeline.stages", "pipeline.nlp", "pipeline.app")),
    ],
)
def test_who_may_import_whom(importer: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    allowed_importers = ("pipeline.tools", "pipeline.cli", "pipeline.__main__")
    breaks = [
        f"{name} -> {target}"
        for name, targets in _import_graph().items()
        if name.startswith(importer) and not name.startswith(allowed_importers)
        for target in targets
        if target.startswith(forbidden)
    ]
    assert breaks == []


def test_files_and_functions_fit_a_screen() -> None:
    too_big = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(BEING_REWRITTEN):
            continue
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_FILE_LINES:
            too_big.append(f"{relative}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                if node.end_lineno - first + 1 > MAX_FUNCTION_LINES:
                    too_big.append(f"{relative}:{node.lineno} {node.name}()")
    assert too_big == []
