"""The examples in rnnlib's docstrings run and print what they say."""
import doctest
import importlib

import pytest

MODULES = ["rnnlib", "rnnlib.vocab", "rnnlib.data", "rnnlib.model", "rnnlib.train",
           "rnnlib.steps", "rnnlib.cells", "rnnlib.player", "rnnlib.pictures",
           "rnnlib.plot", "rnnlib.cli"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (see above)"
