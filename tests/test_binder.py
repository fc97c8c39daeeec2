"""Binder, as far as it can be proven without the service: what repo2docker would build from binder/.

``jupyter-repo2docker --no-build .`` prints the Dockerfile that mybinder.org
would build, without Docker. The image's base environment is repo2docker's
own conda lock file; our pins must agree with it (pip must not downgrade or
break what it ships). The image itself is simulated by
tests/binder_image/test_binder_image.py, a separate step of .ci/run.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def base_environment(python: str) -> dict[str, str]:
    """``name -> version`` of the conda packages in repo2docker's base environment for ``python`` (linux-64)."""
    import repo2docker

    lock = Path(repo2docker.__file__).parent / "buildpacks" / "conda" / f"environment.py-{python}-linux-64.lock"
    found = {}
    for line in lock.read_text().splitlines():
        match = re.search(r"/([A-Za-z0-9_.-]+?)-(\d[^-]*)-[^-/]+\.(?:conda|tar\.bz2)", line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


@pytest.fixture(scope="module")
def dockerfile() -> tuple[str, str]:
    """(Dockerfile, log) of ``jupyter-repo2docker --no-build`` on this repository."""
    r2d = shutil.which("jupyter-repo2docker") or str(Path(sys.executable).parent / "jupyter-repo2docker")
    done = subprocess.run([r2d, "--no-build", str(ROOT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def test_repo2docker_builds_python_of_runtime_txt(dockerfile):
    python = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    text, log = dockerfile
    assert f"Building conda environment for python={python}" in log
    assert f"environment-2epy-2d{python.replace('.', '-2e')}-2dlinux-2d64-2elock" in text


def test_repo2docker_installs_our_requirements_then_runs_postbuild(dockerfile):
    text, _ = dockerfile
    install = text.index('pip install --no-cache-dir -r "binder/requirements.txt"')
    copy = text.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    postbuild = text.index("RUN ./binder/postBuild")
    assert install < copy < postbuild
    steps = (BINDER / "postBuild").read_text()
    assert "pip install --no-deps -e ." in steps                       # binder/ present: the project is not installed by itself
    assert "jupyter trust notebooks/*.ipynb" in steps                   # players drawn on opening


def test_our_pins_agree_with_the_base_environment():
    """notebook 7.x (in the base environment) requires jupyterlab 4.x with the same minor version."""
    python = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    base, ours = base_environment(python), pins(BINDER / "requirements.txt")
    notebook_minor = base["notebook"].split(".")[1]
    assert ours["jupyterlab"].startswith(f"4.{notebook_minor}."), (ours["jupyterlab"], base["notebook"])
    assert ours["jupyterlab"] == base["jupyterlab"], "the same JupyterLab as the base environment: nothing to replace"
    assert pins(ROOT / "requirements.txt")["jupyterlab"] == ours["jupyterlab"]
    # what we pin of the base environment's packages may only move forward
    for name in set(base) & set(ours):
        assert tuple(map(int, re.findall(r"\d+", ours[name])[:3])) >= tuple(map(int, re.findall(r"\d+", base[name])[:3])), \
            f"{name}: we pin {ours[name]}, the base environment has {base[name]}"
