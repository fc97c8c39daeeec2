"""The live boxes' Python side (rnnlib.show.live): what the HTML carries, and what it refuses.

What the page's JavaScript computes from it is checked in Chromium by tests/browser/test_live_page.py.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from IPython.lib.pretty import pretty
from nbval.plugin import get_sanitize_patterns

from rnnlib.lm import LanguageModel
from rnnlib.model import Classifier
from rnnlib.rnn import CELLS
from rnnlib.show import live
from rnnlib.show.live import live_box, live_sampler, text_rules
from rnnlib.text import Labels, Vocab

ROOT = Path(__file__).resolve().parent.parent
VOCAB = Vocab("abcdehiklmnorstuwzäé")
LANGUAGES = Labels(["English", "French", "German"])


class Parts(HTMLParser):
    """The tags of a piece of HTML in order, each script's attributes and text, and the other text."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.scripts, self.text, self._script = [], [], [], None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = [dict(attrs), ""]

    def handle_endtag(self, tag):
        if tag == "script":
            self.scripts.append(tuple(self._script))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script[1] += data
        else:
            self.text.append(data)


def config_of(box) -> dict:
    """The JSON the page reads, parsed as a browser would: the text of the first script."""
    (attrs, data), _ = Parts(box._repr_html_()).scripts
    assert attrs == {"type": "application/json", "class": "rnn-live-model"}
    return json.loads(data)


def weights_of(config: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(config["model"]["weights"]), dtype="<f4")


@pytest.mark.parametrize("cell", ["tanh", "relu", "identity", "gru"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_weights_blob_is_the_models_theta_as_float32(cell, dtype):
    clf = Classifier(VOCAB, LANGUAGES, nhidden=5, cell=cell, seed=3, dtype=dtype)
    model = config_of(live_box(clf, "katze"))["model"]
    assert model["cell"] == cell and model["nhidden"] == 5
    assert [s[0] for s in model["shapes"]] == ["W", "U", "b", "V"]
    assert [tuple(s[1:]) for s in model["shapes"]] == [clf.rnn.shapes[n] for n in "WUbV"]
    blob = weights_of({"model": model})
    assert np.array_equal(blob, clf.rnn.theta.to(torch.float32).numpy())
    W = blob[:clf.rnn.W.numel()].reshape(clf.rnn.W.shape)        # rows after rows, as the page reads it
    assert np.array_equal(W, clf.rnn.W.to(torch.float32).numpy())


def test_a_language_models_sampler_carries_its_weights_languages_and_settings():
    lm = LanguageModel(VOCAB, LANGUAGES, nhidden=6, cell="gru", seed=2)
    config = config_of(live_sampler(lm, "French", temperature=0.7, seed=2**40 + 5, max_length=12))
    assert np.array_equal(weights_of(config), lm.rnn.theta.numpy())
    assert config["languages"] == LANGUAGES.classes and config["language"] == "French"
    assert (config["temperature"], config["seed"], config["maxLength"]) == (0.7, 5, 12)
    assert config["vocab"] == VOCAB.chars


def test_html_in_a_class_name_or_a_word_cannot_break_the_box():
    classes = ['</script><b id="x">bold</b>', 'a"b&c<!--', "d'e&amp;"]
    clf = Classifier(Vocab('<&"ab'), Labels(classes), nhidden=3, seed=0)
    box = live_box(clf, '<"&a')
    markup = box._repr_html_()
    parts = Parts(markup)
    assert [tag for tag, _ in parts.tags] == ["div", "script", "div", "script"]
    assert parts.tags[0][1] == {"class": "rnn-live", "data-rnn-live": "classifier"}
    assert "".join(parts.text) == box.text                       # shown as written, not as markup
    (_, data), (attrs, code) = parts.scripts
    assert "<" not in data and attrs == {} and code == live.script()
    config = json.loads(data)
    assert config["classes"] == classes and config["word"] == '<"&a' and config["vocab"] == list('<&"ab')


def test_the_script_cannot_end_its_own_tag():
    assert not re.search(r"</script|<!--", live.script(), flags=re.I)


@pytest.fixture(scope="module")
def models():
    return (Classifier(VOCAB, LANGUAGES, nhidden=4, seed=1),
            LanguageModel(VOCAB, LANGUAGES, nhidden=4, seed=1))


@pytest.mark.parametrize(("call", "error", "says"), [
    (lambda clf, lm: live_box(lm), TypeError, "live_box takes a rnnlib Classifier, got LanguageModel: use live_sampler"),
    (lambda clf, lm: live_box("katze"), TypeError, "got str"),
    (lambda clf, lm: live_sampler(clf), TypeError, "got Classifier: use live_box"),
    (lambda clf, lm: live_sampler(lm, "Klingon"), ValueError, "unknown labels ['Klingon']"),
    (lambda clf, lm: live_sampler(lm, temperature=0), ValueError, "temperature must be a finite number above 0"),
    (lambda clf, lm: live_sampler(lm, temperature=1000), ValueError, "temperature at most 100"),
    (lambda clf, lm: live_sampler(lm, max_length=0), ValueError, "max_length must be a positive integer"),
    (lambda clf, lm: live_sampler(lm, max_length=5000), ValueError, "at most 1000 letters"),
    (lambda clf, lm: live_sampler(lm, seed=-1), ValueError, "seed must be a whole number"),
    (lambda clf, lm: live_box(clf, "   "), ValueError, "empty word"),
    (lambda clf, lm: live_box(clf, 3), TypeError, "expected a word as a str"),
])
def test_bad_models_and_arguments_are_refused_in_one_line(models, call, error, says):
    with pytest.raises(error) as err:
        call(*models)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_word_outside_the_vocabulary_gets_vocab_encodes_message(models):
    clf, _ = models
    with pytest.raises(ValueError) as expected:
        clf.vocab.encode("Kät-ze1")
    with pytest.raises(ValueError) as err:
        live_box(clf, "Kät-ze1")
    assert str(err.value) == str(expected.value)


def test_models_the_page_cannot_run_are_refused_in_one_line():
    big = Classifier(VOCAB, LANGUAGES, nhidden=1000, seed=0)     # W alone holds 1,000,000 numbers
    diverged = Classifier(VOCAB, LANGUAGES, nhidden=4, seed=0)
    diverged.rnn.theta[3] = float("nan")
    other_cell = Classifier(VOCAB, LANGUAGES, nhidden=4, seed=0)
    other_cell.rnn.cell = dataclasses.replace(CELLS["tanh"], name="lstm")
    for clf, says in [(big, "is too big for a page"), (diverged, "not all finite"),
                      (other_cell, "live.js knows the cells tanh, relu, identity, gru; this model's is 'lstm'")]:
        with pytest.raises(ValueError) as err:
            live_box(clf, "katze")
        assert says in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_the_text_fallback_shows_the_first_words_probabilities_at_two_decimals(models):
    clf, lm = models
    box = live_box(clf, " KATZE ")
    p = clf.predict_proba(["katze"])[0].tolist()
    shown = re.findall(r"\d+\.\d+", box.text)
    assert shown == [f"{v:.2f}" for v in p] and len(shown) == 3
    assert box.text.startswith("'katze' -> ") and config_of(box)["word"] == "katze"
    assert pretty(box) == repr(box) == box.text
    assert not re.search(r"\d", live_sampler(lm, "German", temperature=0.5).text.replace("0.5", ""))


def test_text_rules_hold_where_casefold_is_not_lower_and_pythons_whitespace_and_digits():
    rules = text_rules()
    folds = {int(n): s for n, s in rules["foldMany"].items()}
    for first, count, step, delta in rules["fold"]:
        for k in range(count):
            assert first + k * step not in folds
            folds[first + k * step] = chr(first + k * step + delta)

    def members(ranges):
        return {n for a, b in ranges for n in range(a, b + 1)}

    everything = [chr(n) for n in range(0x110000)]
    assert folds == {ord(c): c.casefold() for c in everything if c.casefold() != c.lower()}
    assert members(rules["space"]) == {ord(c) for c in everything if c.isspace()}
    assert members(rules["digit"]) == {ord(c) for c in everything if c.isdigit() and not c.isdecimal()}
    assert rules["maxLength"] == 1000


def test_the_sanitize_rule_replaces_the_weights_and_nothing_else(models):
    patterns = get_sanitize_patterns((ROOT / "tests" / "sanitize.cfg").read_text())

    def sanitized(markup: str) -> str:
        for regex, replace in patterns:
            markup = re.sub(regex, replace, markup)
        return markup

    clf, _ = models
    other_cpu = Classifier(VOCAB, LANGUAGES, nhidden=4, seed=1)
    other_cpu.rnn.theta.copy_(torch.nextafter(clf.rnn.theta, torch.tensor(2.0)))  # the last bit of every number
    a, b = live_box(clf, "katze")._repr_html_(), live_box(other_cpu, "katze")._repr_html_()
    assert a != b and sanitized(a) == sanitized(b)
    assert sanitized(live_box(clf, "haus")._repr_html_()) != sanitized(a)
    (rule,) = [(regex, replace) for regex, replace in patterns if "weights" in regex]
    assert len(re.findall(rule[0], a)) == 1
    assert len(re.sub(rule[0], rule[1], a)) < len(a) - len(config_of(live_box(clf))["model"]["weights"]) + 20


def test_live_js_ships_in_the_wheel(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ["pyproject.toml", "README.md"]:
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "rnnlib", source / "rnnlib", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(tmp_path / "wheels"), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "wheels").glob("rnnlib-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"rnnlib/show/live.js", "rnnlib/show/live.py"} <= set(names)
