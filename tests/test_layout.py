"""The house's layout, read from the code: no import cycle, gateway/ apart from workers/ but
for the command line, one way to the web context, no crowded folder."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "workers", "megasim")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported(tree: ast.AST, modules: set[str], here: str) -> set[str]:
    """The project modules a module imports (at run time: TYPE_CHECKING blocks left out)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if type_checking_only(node):
            continue
        stack.extend(ast.iter_child_nodes(node))
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        found |= {n for n in names if n in modules and n != here}
    # a package that hands on its own modules (a blueprint's views joining it) contains them
    return {n for n in found if not n.startswith(here + ".")}


def import_graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {module_name(p) for p in files}
    return {module_name(p): imported(ast.parse(p.read_text()), modules, module_name(p))
            for p in files}


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle (its modules in order), or [] when there is none."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node], path[len(path):] = 1, [node]
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_no_import_cycle() -> None:
    assert cycle(import_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_gateway_does_not_import_workers() -> None:
    """Code both need lives in gateway/; only the command line, which starts both, reaches
    into workers/."""
    graph = import_graph()
    assert not [(m, n) for m, ns in graph.items()
                if in_package(m, "gateway") and not in_package(m, "gateway.cli")
                for n in ns if in_package(n, "workers")]


@pytest.mark.parametrize("package", ["gateway.web", "gateway.local"])
def test_only_the_command_line_reaches_into(package: str) -> None:
    """The web process and the local run are ends: no worker, store or domain module imports
    them (the command line, which starts them, does)."""
    graph = import_graph()
    assert not [(m, n) for m, ns in graph.items()
                if not in_package(m, package) and not in_package(m, "gateway.cli")
                for n in ns if in_package(n, package)]


def context_reads(tree: ast.AST) -> int:
    """How often a module reads the web context off a Flask app: `<app>.extensions[...]` with
    leadgate's key, or anything off `current_app.extensions`."""
    reads = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) \
                and isinstance(node.value, ast.Attribute) and node.value.attr == "extensions":
            key = ast.unparse(node.slice)
            reads += key in ("'leadgate'", "EXTENSION") or "current_app" in ast.unparse(node)
    return reads


def test_the_web_context_is_read_in_one_place() -> None:
    files = [p for top in ("gateway", "workers", "tests", "bench")
             for p in (ROOT / top).rglob("*.py")]
    reads = {module_name(p): n for p in files if (n := context_reads(ast.parse(p.read_text())))}
    assert reads == {"gateway.web.context": 1}


MAX_FLAT = 12       # modules one folder of gateway/ holds beside its subfolders, at most


def flat_modules(folder: Path) -> int:
    return len([p for p in folder.glob("*.py") if p.name not in ("__init__.py", "__main__.py")])


def test_no_gateway_folder_holds_more_than_twelve_modules() -> None:
    folders = [ROOT / "gateway", *(p for p in (ROOT / "gateway").rglob("*") if p.is_dir())]
    crowded = {str(f.relative_to(ROOT)): n for f in folders if (n := flat_modules(f)) > MAX_FLAT}
    assert crowded == {}


ENV_READERS = ("gateway.config", "gateway.cli")     # the config loader and the CLI's entry


def reads_environment(tree: ast.AST) -> bool:
    """Whether a module reads the environment: `os.environ`, `os.getenv`, or either imported
    from os."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                a.name in ("environ", "environb", "getenv") for a in node.names):
            return True
    return False


def test_the_environment_is_read_by_the_config_loader_and_the_command_line_only() -> None:
    """Everything else gets what the environment says through the typed config or an
    argument, so tests pass values instead of patching the environment."""
    files = [p for top in ("gateway", "workers") for p in (ROOT / top).rglob("*.py")]
    readers = {module_name(p) for p in files if reads_environment(ast.parse(p.read_text()))}
    assert {m for m in readers if not any(in_package(m, e) for e in ENV_READERS)} == set()
    assert "gateway.config" in readers


@pytest.mark.parametrize("code", ["import os\nos.environ['X']", "import os\nos.getenv('X')",
                                  "from os import environ", "import os\nos.environ.get('X')"])
def test_the_environment_check_sees_each_way_of_reading_it(code: str) -> None:
    assert reads_environment(ast.parse(code))
    assert not reads_environment(ast.parse("import os\nos.path.join('a')"))


CONFIG_MODULES = ("gateway.config", "gateway.sections")


@pytest.mark.parametrize("package", ["gateway.domain", "gateway.mega"])
def test_domain_and_mega_do_not_import_the_config(package: str) -> None:
    """The config is built from the domain's Customer and Route; neither the domain nor the
    MEGA client imports it back (they are handed what they need)."""
    graph = import_graph()
    assert not [(m, n) for m, ns in graph.items() if in_package(m, package)
                for n in ns if n in CONFIG_MODULES]


def undocumented_classes(tree: ast.AST) -> list[str]:
    """The public classes of a module without a docstring (a class nested in a class counts;
    marshmallow's `class Meta` options do not)."""
    missing: list[str] = []

    def visit(node: ast.AST, outer: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                name = f"{outer}{child.name}"
                nested_options = outer and child.name == "Meta"
                if not child.name.startswith("_") and not nested_options \
                        and not ast.get_docstring(child):
                    missing.append(name)
                visit(child, f"{name}.")
            elif not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, outer)

    visit(tree, "")
    return missing


def test_every_public_class_has_a_docstring() -> None:
    files = [p for top in ("gateway", "workers") for p in (ROOT / top).rglob("*.py")]
    missing = {f"{module_name(p)}.{name}" for p in files
               for name in undocumented_classes(ast.parse(p.read_text()))}
    assert sorted(missing) == []


def test_the_docstring_check_finds_a_class_without_one() -> None:
    tree = ast.parse('class A:\n    """Has one."""\n\n    class Meta:\n        x = 1\n\n'
                     '    class B:\n        x = 1\n\n\nclass C:\n    pass\n\n\nclass _D:\n'
                     '    pass\n\n\nif True:\n    class E:\n        pass\n')
    assert undocumented_classes(tree) == ["A.B", "C", "E"]


REDIS_DOORS = ("gateway.store", "gateway.local")   # the store, and the embedded server
RQ_MODULE = "workers.queue"                       # RQ takes a client: the one exception


def project_trees() -> dict[str, ast.AST]:
    return {module_name(p): ast.parse(p.read_text())
            for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def redis_imports(tree: ast.AST) -> list[int]:
    """The lines that import redis-py (`import redis`, `from redis... import`)."""
    return [node.lineno for node in ast.walk(tree)
            if (isinstance(node, ast.Import)
                and any(a.name.split(".")[0] == "redis" for a in node.names))
            or (isinstance(node, ast.ImportFrom) and not node.level
                and (node.module or "").split(".")[0] == "redis")]


def redis_error_catches(tree: ast.AST) -> list[int]:
    """The `except` clauses that name one of redis-py's errors (redis.RedisError,
    redis.exceptions.X, redis.ConnectionError...)."""
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.ExceptHandler) and node.type is not None
            and any(isinstance(n, ast.Name) and n.id == "redis"
                    or isinstance(n, ast.Name) and n.id == "RedisError"
                    for n in ast.walk(node.type))]


def outside(module: str, allowed: tuple[str, ...]) -> bool:
    return not any(in_package(module, a) for a in allowed)


def test_only_the_store_imports_redis() -> None:
    """Every Redis command goes through gateway/store/ (and the embedded server's start);
    RQ's connection is made in one named module."""
    found = {m: lines for m, tree in project_trees().items()
             if outside(m, (*REDIS_DOORS, RQ_MODULE)) and (lines := redis_imports(tree))}
    assert found == {}


def test_redis_errors_are_caught_only_in_the_store() -> None:
    """The store answers Redis trouble as StoreUnavailable; no one else catches redis-py's."""
    found = {m: lines for m, tree in project_trees().items()
             if outside(m, REDIS_DOORS) and (lines := redis_error_catches(tree))}
    assert found == {}


def test_the_redis_rules_see_what_they_forbid() -> None:
    tree = ast.parse("import redis\nfrom redis.exceptions import X\ntry:\n    pass\n"
                     "except redis.RedisError:\n    pass\nexcept (KeyError, RedisError):\n"
                     "    pass\n")
    assert redis_imports(tree) == [1, 2] and redis_error_catches(tree) == [5, 7]
