"""Guards: the public API, the direction of imports, and the README's commands."""

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cmf_core

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves() -> None:
    for name in cmf_core.__all__:
        assert getattr(cmf_core, name) is not None, name


def test_importing_cmf_core_loads_no_surface_and_no_heavy_library() -> None:
    code = (
        "import sys, cmf_core; "
        "print(' '.join(sorted(m for m in ('mcp', 'fastapi', 'click', 'starlette', 'sqlalchemy', "
        "'git', 'dvc', 'rich', 'alembic') if m in sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_cmf_core_source_never_imports_a_surface() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+(cmf_mcp|mcp|fastapi|click|starlette|uvicorn)\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "cmf_core").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.match(line)
    ]
    assert offenders == []


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = readme_commands()[1]
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci


def test_the_get_started_example_runs_end_to_end(tmp_path: Path) -> None:
    workdir = tmp_path / "get_started"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "get_started" / "run.py"), str(workdir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    listing = result.stdout.split("cmf ls executions", 1)[1]
    for stage in ("prepare", "featurize", "train", "evaluate"):
        assert re.search(rf"fraud-detection\s+{stage}\s+completed", listing), stage
    assert "Warning" not in result.stderr, result.stderr
    assert not re.search(r"completed .*\*\s*$", listing, flags=re.M)  # clean Git state
    traced = result.stdout.split("cmf trace models/model.json", 1)[1]
    for stage in ("train", "featurize", "prepare"):
        assert f"fraud-detection/{stage}" in traced
    assert "raw sources" in traced and "data/raw/transactions.csv" in traced


def test_the_readme_quickstart_names_only_real_methods() -> None:
    from cmf_core.tracking import Cmf, Run

    text = (ROOT / "README.md").read_text()
    for name in set(re.findall(r"\brun\.(\w+)\(", text)):
        assert hasattr(Run, name), name
    for name in set(re.findall(r"\bcmf\.(\w+)\(", text)) - {"Cmf"}:
        assert hasattr(Cmf, name), name


SURFACE_AND_DATABASE = ("mcp", "mcp_types", "fastapi", "starlette", "click", "sqlalchemy")


def test_from_cmf_core_import_cmf_loads_no_surface_and_no_database_library() -> None:
    code = (
        "import sys; from cmf_core import Cmf; "
        f"print(' '.join(m for m in {SURFACE_AND_DATABASE!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


# Which folder (or file) owns each library: nothing else imports it, not even lazily.
# ruff's banned-api (pyproject.toml) can only lift every ban in a folder at once; this
# table is exact.
OWNERS = {
    "sqlalchemy": ("cmf_core/store/",),
    "alembic": ("cmf_core/store/",),
    "click": ("cmf_mcp/cli/",),
    "mcp": ("cmf_mcp/mcp/",),
    "mcp_types": ("cmf_mcp/mcp/",),
    "fastapi": ("cmf_mcp/http/",),
    "starlette": ("cmf_mcp/http/", "cmf_mcp/mcp/server.py"),  # the MCP HTTP transport
    "uvicorn": ("cmf_mcp/http/", "cmf_mcp/mcp/server.py"),
}


def imported_packages(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``path``, however deep."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name.partition(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.partition(".")[0]


def test_each_library_is_imported_only_by_the_layer_that_owns_it() -> None:
    offenders = []
    for package in ("cmf_core", "cmf_mcp"):
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            for line, name in imported_packages(path):
                owners = OWNERS.get(name)
                if owners is not None and not where.startswith(owners):
                    offenders.append(f"{where}:{line} imports {name}")
    assert offenders == []


def test_the_table_of_public_names_is_read_as_python_reads_it() -> None:
    """cmf_core reads its TYPE_CHECKING import block with string operations; ast agrees."""
    source = Path(cmf_core.__file__).read_text(encoding="utf-8")
    imports = next(node for node in ast.parse(source).body if isinstance(node, ast.If)).body
    table = {
        alias.name: statement.module
        for statement in imports
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }
    assert table == cmf_core._LAZY
    assert sorted(cmf_core.__all__) == sorted(table)


def test_surfaces_import_only_public_cmf_core_names() -> None:
    """cmf_mcp uses cmf_core through names in cmf_core.__all__, never its module objects."""
    public = set(cmf_core.__all__)
    private: list[str] = []
    for path in sorted((ROOT / "cmf_mcp").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                private += [f"{path}: import {a.name}" for a in node.names if "cmf_core" in a.name]
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cmf_core"):
                private += [
                    f"{path}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name not in public
                ]
    assert private == [], "make these public in cmf_core/__init__.py or stop using them"


def _runtime_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import, module level or in a function, except under ``if TYPE_CHECKING:``."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        else:
            pending.extend(ast.iter_child_nodes(node))


def module_imports() -> dict[str, set[str]]:
    """cmf_core and cmf_mcp module → the modules of the two packages it imports."""
    paths = {}
    for path in sorted([*(ROOT / "cmf_core").rglob("*.py"), *(ROOT / "cmf_mcp").rglob("*.py")]):
        if "migrations" not in path.parts:
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            paths[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in _runtime_imports(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base)
        graph[name] = {module for module in found if module in paths and module != name}
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return circles


def test_no_two_modules_import_each_other_even_through_others() -> None:
    graph = module_imports()
    assert "cmf_core.cmflib.writer" in graph["cmf_core.tracking"]  # the walk sees imports
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    circles = [" <-> ".join(group) for group in import_circles(graph)]
    assert circles == [], "import circles (an import under TYPE_CHECKING alone does not count)"


MAX_MODULE_LINES = 400


def test_no_module_outside_the_migrations_is_over_400_lines() -> None:
    """One idea per module: a module that grows past this is split by idea."""
    long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for folder in ("cmf_core", "cmf_mcp")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == [], "split these by idea"
