"""The project's apps import each other in one direction only: the app-level import graph, read from the
source of every module (migrations and function-local imports included), has no cycle. import-linter
(`[tool.importlinter]`) checks the same order layer by layer; this test needs no contract to be right,
so a new app, or an import hidden inside a function, cannot bring a cycle back unnoticed.

Typing-only imports (under `if TYPE_CHECKING:`) load nothing and do not count, as for import-linter.
"""

import ast
from pathlib import Path

import pytest
from django.conf import settings

NOT_APPS = {"tests", "bench", "scripts", "static", "staticfiles", "templates", "var"}


def _project_packages() -> list[str]:
    root = Path(settings.BASE_DIR)
    return sorted(p.name for p in root.iterdir()
                  if (p / "__init__.py").is_file() and p.name not in NOT_APPS and not p.name.startswith("."))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """(module imported, name or None, enclosing function or None, line) of every absolute import."""

    def __init__(self):
        self.found: list[tuple[str, str | None, str | None, int]] = []
        self._functions: list[str] = []

    def visit_If(self, node: ast.If):
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def _function(self, node):
        self._functions.append(node.name)
        self.generic_visit(node)
        self._functions.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def _where(self) -> str | None:
        return ".".join(self._functions) if self._functions else None

    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            self.found.append((alias.name, None, self._where(), node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if node.level == 0 and node.module:
            for alias in node.names:
                self.found.append((node.module, alias.name, self._where(), node.lineno))


def _cross_app_imports():
    """(importing app, module path, imported app, imported module, name, enclosing function, line)."""
    root = Path(settings.BASE_DIR)
    packages = set(_project_packages())
    rows = []
    for package in sorted(packages):
        for path in sorted((root / package).rglob("*.py")):
            visitor = _Imports()
            visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
            for module, name, function, line in visitor.found:
                target = module.split(".")[0]
                if target in packages and target != package:
                    rows.append((package, str(path.relative_to(root)), target, module, name, function, line))
    return rows


def _app_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {package: set() for package in _project_packages()}
    for package, _path, target, *_ in _cross_app_imports():
        graph[package].add(target)
    return graph


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path [a, b, …, a], or None (depth-first search, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _witness(source: str, target: str) -> str:
    for package, path, imported, module, name, _function, line in _cross_app_imports():
        if package == source and imported == target:
            return f"{path}:{line} imports {module}{'.' + name if name else ''}"
    return "?"


def test_the_project_packages_are_the_ones_import_linter_knows():
    import tomllib

    with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as f:
        root_packages = tomllib.load(f)["tool"]["importlinter"]["root_packages"]
    assert sorted(root_packages) == _project_packages()


def test_the_app_import_graph_has_no_cycle():
    graph = _app_graph()
    cycle = _a_cycle(graph)
    if cycle:
        steps = "\n".join(f"  {a} -> {b}: {_witness(a, b)}" for a, b in zip(cycle, cycle[1:], strict=False))
        pytest.fail("the apps import each other in a cycle:\n" + steps)


def test_no_app_imports_another_apps_private_names():
    private = [f"{path}:{line} imports {module}.{name}" if name else f"{path}:{line} imports {module}"
               for _package, path, _target, module, name, _function, line in _cross_app_imports()
               if any(part.startswith("_") and not part.startswith("__")
                      for part in module.split(".")[1:] + ([name] if name else []))]
    assert private == []


def test_function_local_imports_of_another_app_are_only_the_app_registry_wiring():
    """Inside a function an import of another app hides an edge from a reader of the module's top; the
    one place it is needed is `AppConfig.ready()`, which wires subscribers once every app's models
    exist."""
    local = [f"{path}:{line} {function}() imports {module}"
             for _package, path, _target, module, _name, function, line in _cross_app_imports()
             if function is not None and not (path.endswith("apps.py") and function.endswith("ready"))]
    assert local == []
