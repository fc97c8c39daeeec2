"""The set-up files agree with each other: requirements, Binder, README."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of a requirements file."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_binder_pins_the_same_versions_as_requirements_with_cpu_torch():
    local, binder = pins(ROOT / "requirements.txt"), pins(ROOT / "binder" / "requirements.txt")
    assert local["torch"] == "2.13.0"
    assert binder["torch"] == local["torch"] + "+cpu"
    assert "download.pytorch.org/whl/cpu" in (ROOT / "binder" / "requirements.txt").read_text()
    for name in ["numpy", "matplotlib", "ipywidgets", "jupyterlab", "wordfreq", "tqdm"]:
        assert binder[name] == local[name], name


def test_binder_installs_the_project_and_pins_python():
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "-e ." in (ROOT / "requirements.txt").read_text().splitlines()


def test_readme_lists_every_notebook_and_its_links_exist():
    readme = (ROOT / "README.md").read_text()
    linked = re.findall(r"\]\((notebooks/[0-9][^)]*\.ipynb)\)", readme)
    on_disk = sorted(f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert linked == on_disk
    badge = re.search(r"mybinder\.org/v2/gh/[^)]*\?urlpath=lab/tree/(notebooks/[^)]+\.ipynb)", readme)
    assert badge and (ROOT / badge.group(1)).is_file()


SETUP = ("python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt && "
         "jupyter trust notebooks/*.ipynb && jupyter lab notebooks/01_words_as_numbers.ipynb")


def test_readme_gives_the_two_commands_and_ci_runs_them():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    assert blocks[0].strip() == SETUP
    assert blocks[1].strip() == "pytest"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    # the setup command's steps, in order, but jupyter lab (it waits for a reader)
    steps = ["python3 -m venv .venv", ". .venv/bin/activate", "pip install -q -r requirements.txt",
             "jupyter trust notebooks/*.ipynb", "pytest"]
    positions = [ci.index(step) for step in steps]
    assert positions == sorted(positions), positions


def test_readme_gives_the_cpu_only_install_of_the_pinned_torch():
    readme = (ROOT / "README.md").read_text()
    torch = pins(ROOT / "requirements.txt")["torch"]
    cpu = [b for b in re.findall(r"```bash\n(.*?)```", readme, flags=re.S) if "whl/cpu" in b]
    assert cpu and cpu[0].strip() == SETUP.replace(
        "pip install -r", f"pip install torch=={torch} --index-url https://download.pytorch.org/whl/cpu && pip install -r")


def test_binder_trusts_the_notebooks_like_the_setup_command():
    assert "jupyter trust notebooks/*.ipynb" in (ROOT / "binder" / "postBuild").read_text().splitlines()


def test_site_and_node_modules_are_not_committed():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "_site/" in ignored and "node_modules/" in ignored
