"""Execute the course's notebooks in place and print how long each took.

    python benchmarks/run_notebooks.py                 # every notebook, in order
    python benchmarks/run_notebooks.py notebooks/03_weighted_sum.ipynb

Executes with nbclient, which stores the widget state in the notebook so that
the animations show on GitHub and in any viewer without a kernel. Prints one
``<notebook>_seconds=<float>`` line each and ``notebooks_seconds=<total>``: from the start
of the notebook's kernel to the end of its last cell (the kernel is then stopped at once,
untimed).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    # shutdown_kernel="immediate": a reader never waits for the kernel to stop, and nbclient's
    # graceful stop adds about a second per notebook to what is timed
    client = NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=True,
                            shutdown_kernel="immediate", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> None:
    if SHARED_DATA.is_dir():
        os.environ.setdefault("RNNLIB_DATA", str(SHARED_DATA))
    paths = [Path(p) for p in argv] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    total = 0.0
    for path in paths:
        seconds = execute(path.resolve())
        total += seconds
        print(f"{path.stem}_seconds={seconds:.1f}", flush=True)
    print(f"notebooks_seconds={total:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
