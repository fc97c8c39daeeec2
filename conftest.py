"""Test settings shared by every test, the notebooks' (nbval) included."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SHARED_DATA = ROOT.parent / "shared" / "data"

# CI and maintainers keep the surnames data in ../shared/data; the notebooks'
# kernels inherit this variable, so they read it from there too.
if SHARED_DATA.is_dir():
    os.environ.setdefault("RNNLIB_DATA", str(SHARED_DATA))
