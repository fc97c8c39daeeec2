"""The examples in rnnlib's docstrings run and print what they say."""
import doctest
import importlib
import pkgutil

import pytest

import rnnlib

# every module of the package, so a new one cannot be forgotten
MODULES = ["rnnlib"] + sorted(f"rnnlib.{m.name}" for m in pkgutil.iter_modules(rnnlib.__path__)
                              if m.name != "__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (see above)"
