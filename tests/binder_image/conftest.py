"""The browser fixtures of tests/browser (``chromium``, ``artifacts``) for the simulated Binder image."""
import importlib.util
import sys
from pathlib import Path

BROWSER = Path(__file__).resolve().parents[1] / "browser"
sys.path.insert(0, str(BROWSER))
_spec = importlib.util.spec_from_file_location("browser_conftest", BROWSER / "conftest.py")
_browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_browser)

chromium = _browser.chromium
artifacts = _browser.artifacts
