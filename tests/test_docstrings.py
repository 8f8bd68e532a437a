"""Every public name has a valid numpydoc docstring."""

import inspect

import pytest

import skem
import skem.datasets

numpydoc_validate = pytest.importorskip("numpydoc.validate")
skem_dask = pytest.importorskip("skem.dask")

MODULES = (skem, skem.datasets, skem_dask)

# Checks we do not enforce, each with its reason.
IGNORED = {
    "GL01",  # summary may start on the first line, as black formats it
    "GL02",  # likewise for the closing line
    "ES01",  # an extended summary is welcome, not required
    "SA01",  # See Also on every method would be noise
    "RT02",  # "self : object" is scikit-learn's convention for fit
}


def _public_objects():
    for module in MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj):
                continue
            yield f"{module.__name__}.{name}"
            if inspect.isclass(obj):
                for method_name, _ in inspect.getmembers(obj, inspect.isfunction):
                    if method_name.startswith("_"):
                        continue
                    # Methods inherited from scikit-learn are its business.
                    if method_name not in _own_methods(obj):
                        continue
                    yield f"{module.__name__}.{name}.{method_name}"


def _is_method(name):
    parent = name.rsplit(".", 1)[0]
    return any(parent == f"{m.__name__}.{c}" for m in MODULES for c in m.__all__)


def _own_methods(cls):
    names = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("skem"):
            names.update(vars(klass))
    return names


@pytest.mark.parametrize("name", sorted(set(_public_objects())))
def test_docstring_is_valid_numpydoc(name):
    result = numpydoc_validate.validate(name)
    # Methods are shown in their class's Examples; every other name has its own.
    ignored = IGNORED | (
        {"EX01"} if result["type"] == "function" and _is_method(name) else set()
    )
    errors = [
        f"{code}: {message}"
        for code, message in result["errors"]
        if code not in ignored
    ]
    assert not errors, f"{name}:\n" + "\n".join(errors)
