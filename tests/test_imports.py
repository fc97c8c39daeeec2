"""The command line and scripts that only want Vocab or RNN need neither matplotlib nor ipywidgets."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: a finder that refuses the drawing packages, as if they were not installed.
BLOCK = """
import importlib.abc, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"matplotlib", "ipywidgets"}:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)

sys.meta_path.insert(0, Refuse())
"""


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_the_core_modules_import_without_the_drawing_packages():
    result = run("import rnnlib, rnnlib.text, rnnlib.data, rnnlib.rnn, rnnlib.bptt, rnnlib.model, rnnlib.train, "
                 "rnnlib.lm, rnnlib.learned, rnnlib.show\n"
                 "assert not {'ipywidgets', 'matplotlib'} & set(sys.modules)")
    assert result.returncode == 0, result.stderr


def test_the_command_line_help_runs_without_the_drawing_packages():
    result = run("import runpy; sys.argv = ['rnnlib', '--help']; runpy.run_module('rnnlib', run_name='__main__')")
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout


def test_the_block_works():
    """Each drawing module imports as it is, and fails under the block: so the block is what refuses it."""
    modules = ("rnnlib.show.player", "rnnlib.show.frames", "rnnlib.show.heatmaps", "rnnlib.show.plots")
    plain = subprocess.run([sys.executable, "-c", f"import {', '.join(modules)}"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    for module in modules:
        blocked = run(f"import {module}")
        assert blocked.returncode != 0 and "blocked by the test" in blocked.stderr, (module, blocked.stderr)
