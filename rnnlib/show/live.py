"""Live boxes: the trained model's forward pass run again by the page's own JavaScript, no kernel needed.

    live_box(clf, word="katze")                  each class's probability after every letter typed (notebook 13)
    live_sampler(lm, "German", temperature=0.8)  new words drawn letter by letter, a temperature slider (notebook 15)

Each is a plain HTML output: the model as JSON, the tables JavaScript lacks for ``rnnlib.text``'s rule, and
``live.js`` inline; JupyterLab (in a trusted notebook) and the static site run the same script.
"""
from __future__ import annotations

import base64
import functools
import html
import json
from importlib import resources

import torch

from ..checks import check_int, check_positive, check_seed
from ..lm import LanguageModel
from ..model import RNN, Classifier
from ..text import MAX_WORD_LENGTH, normalize, quote

LIVE_CELLS = ("tanh", "relu", "identity", "gru")     # the steps live.js writes out
MAX_NUMBERS = 1_000_000                              # 5.3 MB of base64: too big for a page beyond that


@functools.cache
def script() -> str:
    """live.js, the box's code (package data of ``rnnlib.show``)."""
    return resources.files(__package__).joinpath("live.js").read_text(encoding="utf-8")


def _ranges(test) -> list[list[int]]:
    """``[first, last]`` of each run of code points where ``test(character)`` holds."""
    out: list[list[int]] = []
    for n in filter(lambda n: test(chr(n)), range(0x110000)):
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


@functools.cache
def text_rules() -> dict:
    """Where ``casefold`` is not ``lower`` (JavaScript's ``toLowerCase``), as runs ``[first, count, step,
    delta]`` plus the folds into several letters; the code points of ``str.isspace`` (what ``strip``
    removes) and of the digits that are not decimal (``\\p{Nd}`` in JavaScript) for ``hint``. The same
    tables from Python 3.10 to 3.13 (Unicode 13 to 15.1): a notebook's output stays the same."""
    runs, many = [], {}
    for n in range(0x110000):
        folded = chr(n).casefold()
        if folded == chr(n).lower():
            continue
        if len(folded) > 1:
            many[str(n)] = folded
        else:                                         # delta 0 too: Cherokee folds to upper case
            delta, last = ord(folded) - n, runs[-1] if runs else None
            if last and last[3] == delta and last[1] == 1 and n - last[0] in (1, 2):
                last[1:3] = [2, n - last[0]]
            elif last and last[3] == delta and n == last[0] + last[1] * last[2]:
                last[1] += 1
            else:
                runs.append([n, 1, 1, delta])
    return {"fold": runs, "foldMany": many, "space": _ranges(str.isspace),
            "digit": _ranges(lambda c: c.isdigit() and not c.isdecimal()), "maxLength": MAX_WORD_LENGTH}


def _weights(rnn: RNN) -> dict:
    """The cell, the shapes of ``W, U, b, V`` in ``theta``'s order, and ``theta`` itself."""
    if rnn.cell.name not in LIVE_CELLS:
        raise ValueError(f"live.js knows the cells {', '.join(LIVE_CELLS)}; this model's is {rnn.cell.name!r}")
    if rnn.theta.numel() > MAX_NUMBERS:
        raise ValueError(f"a model of {rnn.theta.numel():,} numbers is too big for a page (at most "
                         f"{MAX_NUMBERS:,}): use a smaller nhidden than {rnn.nhidden}")
    theta = rnn.theta.detach().to("cpu", torch.float32)
    if not torch.isfinite(theta).all():
        raise ValueError("the model's weights are not all finite (did training diverge?): nothing to show")
    blob = base64.b64encode(theta.numpy().astype("<f4").tobytes()).decode("ascii")
    return {"cell": rnn.cell.name, "nhidden": rnn.nhidden,
            "shapes": [[name, *shape] for name, shape in rnn.shapes.items()], "weights": blob}


class LiveBox:
    """An HTML output running ``live.js`` on ``config``; ``text`` (its repr) shows where scripts do not run."""

    def __init__(self, config: dict, text: str):
        self.config, self.text = config, text

    def _repr_html_(self) -> str:
        # inside <script>, "</script>" or "<!--" in a class name would end it: no < > & stay as they are
        data = json.dumps(self.config).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return (f'<div class="rnn-live" data-rnn-live="{self.config["kind"]}">'
                f'<script type="application/json" class="rnn-live-model">{data}</script>'
                f'<div class="rnn-live-text">{html.escape(self.text)}</div><script>{script()}</script></div>')

    def __repr__(self) -> str:
        return self.text


def live_box(clf: Classifier, word: str = "katze") -> LiveBox:
    """A word box for ``clf``: after every keystroke, each prefix's ``softmax(V @ h_t)`` and the
    prediction, computed in the page (notebook 13, 'The prediction after every letter')."""
    if not isinstance(clf, Classifier):
        hint = ": use live_sampler for a language model" if isinstance(clf, LanguageModel) else ""
        raise TypeError(f"live_box takes a rnnlib Classifier, got {type(clf).__name__}{hint}")
    model = _weights(clf.rnn)
    p = clf.predict_proba([word])[0].tolist()        # refuses a word the model cannot read, in one line
    word = normalize(word)
    config = {"kind": "classifier", "model": model, "vocab": clf.vocab.chars,
              "classes": clf.labels.classes, "word": word, "text": text_rules()}
    best = max(range(len(p)), key=p.__getitem__)
    shares = " · ".join(f"{c} {v:.2f}" for c, v in zip(clf.labels.classes, p))
    return LiveBox(config, f"{quote(word)} -> {clf.labels.classes[best]} ({shares}); type another word in the "
                           "live box (it needs JavaScript: a trusted notebook or the site)")


def live_sampler(lm: LanguageModel, language: str | None = None, temperature: float = 1.0, seed: int = 0,
                 max_length: int = 30) -> LiveBox:
    """A sampler for ``lm``: 'sample' draws a word of ``language`` letter by letter from
    ``softmax(V @ h_t / temperature)``, as ``lm.sample`` does, and animates each step's
    distribution (notebook 15, 'Sampling new words'). ``seed`` seeds the page's own generator."""
    if not isinstance(lm, LanguageModel):
        raise TypeError(f"live_sampler takes a rnnlib LanguageModel, got {type(lm).__name__}"
                        + (": use live_box for a classifier" if isinstance(lm, Classifier) else ""))
    language = lm.labels.classes[0] if language is None else language
    lm.start(language)                                # refuses an unknown language, in one line
    check_positive("temperature", temperature)
    if check_int("max_length", max_length) > MAX_WORD_LENGTH or temperature > 100:
        raise ValueError(f"sample words of at most {MAX_WORD_LENGTH} letters, temperature at most 100; "
                         f"got max_length={max_length}, temperature={temperature}")
    config = {"kind": "sampler", "model": _weights(lm.rnn), "vocab": lm.vocab.chars, "languages": lm.labels.classes,
              "language": language, "temperature": float(temperature), "seed": check_seed("seed", seed) % 2**32,
              "maxLength": max_length}
    return LiveBox(config, f"live sampler: {language} words at temperature {temperature:g}; press 'sample' "
                           "(it needs JavaScript: a trusted notebook or the site)")
