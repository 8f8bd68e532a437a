"""Importing skem.dask where Dask is missing or mismatched."""

import importlib
import sys

import pytest


def test_import_error_names_the_releases_needed_and_the_cause(monkeypatch):
    """An installed but unusable distributed (as an old release beside a new
    dask is) fails the import with what skem.dask needs and why it failed,
    not only that Dask is missing."""
    # None in sys.modules makes ``import distributed`` raise ImportError.
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.delitem(sys.modules, "skem.dask", raising=False)
    with pytest.raises(ImportError) as caught:
        importlib.import_module("skem.dask")
    message = str(caught.value)
    assert "2024.12" in message and "same release" in message
    assert "pip install" in message and "Importing them failed: " in message
    assert isinstance(caught.value.__cause__, ImportError)
