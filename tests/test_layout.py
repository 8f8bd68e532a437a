"""The package's shape (issue 17): small modules, no import cycle anywhere;
and the test tiers' share of the model forms."""

import ast
import itertools
from pathlib import Path

import skem
from skem import AnnotatorEM
from tests._helpers import EVERYDAY_FORMS, FORMS, LECTURE

ROOT = Path(skem.__file__).parent
MAX_LINES = 600


def _module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, modules):
    """The skem modules that ``path`` imports at module level."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def test_no_module_of_the_package_is_over_600_lines():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for path in ROOT.rglob("*.py")
    }
    assert max(sizes.values()) <= MAX_LINES, {
        name: n for name, n in sizes.items() if n > MAX_LINES
    }


def test_module_level_imports_of_the_package_have_no_cycle():
    """Kahn's algorithm empties the import graph only if it has no cycle; a
    package's own ``__init__`` importing its submodules is not an edge back."""
    paths = {_module_name(path): path for path in ROOT.rglob("*.py")}
    graph = {
        name: {
            dep
            for dep in _imports(path, paths)
            if dep != name and not name.startswith(dep + ".")
        }
        for name, path in paths.items()
    }
    remaining = {name: set(deps) for name, deps in graph.items()}
    while remaining:
        leaves = [name for name, deps in remaining.items() if not deps]
        assert leaves, f"import cycle among {sorted(remaining)}"
        for leaf in leaves:
            del remaining[leaf]
        for deps in remaining.values():
            deps.difference_update(leaves)


def test_the_everyday_forms_are_forms_that_hold_every_pair_of_options():
    """The everyday tier tests a subset of the model forms
    (``tests._helpers._form_params``): each of them is one of ``FORMS``, the
    default and the lecture's form are among them, a Student-t form too, and
    every pair of values of two of bounded, noise and bias occurs."""
    options = ("bounded", "noise", "bias")
    assert all(form in FORMS for form in EVERYDAY_FORMS)
    default = {key: AnnotatorEM().get_params()[key] for key in options}
    assert default in EVERYDAY_FORMS
    assert {**LECTURE, "bias": False} in EVERYDAY_FORMS
    assert any("tail" in form for form in EVERYDAY_FORMS)
    normal = [form for form in EVERYDAY_FORMS if "tail" not in form]
    for first, second in itertools.combinations(options, 2):
        pairs = {(form[first], form[second]) for form in normal}
        every = {(form[first], form[second]) for form in FORMS}
        assert pairs == every, (first, second)
