"""The command package's shape: small modules, imports that only go down."""

import ast
from pathlib import Path

import skem

PACKAGE = Path(skem.__file__).parent / "_cli"
MAX_LINES = 600


def _module_imports(path):
    """The skem._cli modules that ``path`` imports at module level."""
    imported = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "skem._cli."
        ):
            imported.add(node.module.removeprefix("skem._cli."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("skem._cli."):
                    imported.add(alias.name.removeprefix("skem._cli."))
    return imported


def _graph():
    return {
        path.stem: _module_imports(path)
        for path in PACKAGE.glob("*.py")
        if path.stem != "__init__"
    }


def test_no_module_is_over_600_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert max(sizes.values()) <= MAX_LINES, sizes


def test_module_level_imports_have_no_cycle():
    """Kahn's algorithm empties the graph only if it has no cycle."""
    graph = _graph()
    remaining = {name: set(deps) & set(graph) for name, deps in graph.items()}
    while remaining:
        leaves = [name for name, deps in remaining.items() if not deps]
        assert leaves, f"import cycle among {sorted(remaining)}"
        for leaf in leaves:
            del remaining[leaf]
        for deps in remaining.values():
            deps.difference_update(leaves)


def test_the_dask_module_imports_only_leaf_modules():
    """on_dask never imports the entry point, the parser or the local path,
    which load it lazily: the import cycle of 0.4.1 cannot come back."""
    imported = _graph()["on_dask"]
    assert imported
    assert not imported & {"main", "parser", "local"}
    assert "on_dask" not in _graph()["main"]  # imported inside main's dispatch
