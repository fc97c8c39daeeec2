"""The live boxes (rnnlib.show.live) in Chromium with no kernel: the page's numbers and messages are rnnlib's.

Tiny models are trained here, in seconds; their ``live_box`` and ``live_sampler`` outputs are put in a
page of their own and served on 127.0.0.1 by a plain HTTP server, with no Jupyter, and typed into as
a reader does, keystroke by keystroke: after each one, every probability shown is compared with
rnnlib's (1e-4). The same output is then opened in JupyterLab (as a trusted notebook, before it runs;
untrusted, it shows its text) and in a site built by site/build.py. Nothing may be loaded from
anywhere but 127.0.0.1.
"""
from __future__ import annotations

import base64
import functools
import http.server
import json
import random
import re
import sys
import threading
import unicodedata
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from labdriver import ROOT, JupyterLab, NotebookPage, is_kernel_stopped_note
from rnnlib.data import words
from rnnlib.lm import LanguageModel
from rnnlib.model import RNN, Classifier
from rnnlib.show.live import live_box, live_sampler
from rnnlib.text import Labels, Vocab, hint, normalize, quote
from rnnlib.train import fit

pytestmark = pytest.mark.browser

TOLERANCE = 1e-4
CELLS = ["tanh", "relu", "gru"]
WORDS = ["katze", "Straße", "CAFE\u0301", "Œuvre", "NAÏVE", "  Haus ", "supercalifragilisticexpialidocious" * 3,
         "kat3e", "ka-tze", "Ñandú", "İstanbul", "ﬁne", "ΣΟΦΊΑ", "x y", "   "]
LM_LANGUAGE, LM_TEMPERATURE, LM_MAX_LENGTH = "German", 0.8, 20


# ---------------------------------------------------------------- models and pages

@pytest.fixture(scope="module")
def models():
    """A classifier per cell and a GRU language model, trained for seconds on wordfreq's words."""
    X, y = words(per_language=300, seed=1)
    classifiers = {}
    for cell in CELLS:
        classifiers[cell] = Classifier.from_data(X, y, nhidden=12, cell=cell, seed=0)
        fit(classifiers[cell], X, y, epochs=2, lr=0.01, seed=0)
    lm = LanguageModel.from_data(X, y, nhidden=16, cell="gru", seed=0)
    fit(lm, X, y, epochs=2, lr=0.01, seed=0)
    return classifiers, lm


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A static server on 127.0.0.1 for a temporary folder: (folder, base URL)."""
    folder = tmp_path_factory.mktemp("live")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def html_page(*boxes) -> str:
    body = "\n<hr>\n".join(box._repr_html_() for box in boxes)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>live</title></head>'
            f'<body style="max-width:60em;margin:1em auto;padding:0 1em">{body}</body></html>')


class Tab:
    """A page in its own browser context: its console errors, and any request that left 127.0.0.1."""

    def __init__(self, chromium, url: str, viewport=None):
        self.context = chromium.new_context(viewport=viewport or {"width": 1100, "height": 900})
        self.errors, self.outside = [], []
        base = re.match(r"http://127\.0\.0\.1:\d+", url)[0]

        def route(r):
            if r.request.url.startswith((base, "data:", "blob:")):
                r.continue_()
            else:
                self.outside.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="load")

    def clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.outside, f"requests outside 127.0.0.1: {self.outside}"


@pytest.fixture(scope="module")
def live_page(models, served, chromium):
    """One page with a live box per classifier and the sampler, open in Chromium."""
    classifiers, lm = models
    folder, base = served
    boxes = [live_box(classifiers[cell], "katze") for cell in CELLS]
    boxes.append(live_sampler(lm, LM_LANGUAGE, temperature=LM_TEMPERATURE, seed=7, max_length=LM_MAX_LENGTH))
    (folder / "live.html").write_text(html_page(*boxes), encoding="utf-8")
    tab = Tab(chromium, f"{base}/live.html")
    yield tab
    tab.clean()
    tab.context.close()


# ---------------------------------------------------------------- the word box against rnnlib

READ_BOX = """box => {
    const shown = [...box.querySelectorAll('[data-probability]')];
    const read = e => [e.dataset.language, Number(e.dataset.probability)];
    const out = box.querySelector('[data-prediction]');
    return {value: box.querySelector('input').value, count: shown.length,
            table: shown.filter(e => e.dataset.step).map(e => [Number(e.dataset.step), ...read(e)]),
            final: [...box.querySelectorAll('[data-rnn-final] [data-probability]')].map(read),
            prediction: out && out.dataset.prediction,
            message: box.querySelector('.rnn-live-message').textContent};
}"""


def expected(clf: Classifier, value: str) -> dict:
    """What rnnlib says of the box's text: each prefix's softmax(V @ h_t), the prediction, or its message."""
    try:
        final = clf.predict_proba([value])[0]
        prefixes = torch.softmax(clf.rnn.V @ clf.states(value), dim=0).T
    except ValueError as err:
        return {"message": str(err)}
    return {"final": final, "prefixes": prefixes, "prediction": clf.labels.classes[int(final.argmax())]}


def assert_box_agrees(clf: Classifier, shown: dict, where: str) -> None:
    want, classes = expected(clf, shown["value"]), clf.labels.classes
    where = f"{where}, box text {shown['value']!r}"
    if "message" in want:
        assert shown["message"] == want["message"], where
        assert shown["count"] == 0 and shown["prediction"] is None, where
        return
    assert shown["message"] == "", f"{where}: {shown['message']}"
    P = want["prefixes"]
    assert shown["count"] == P.numel() + len(classes), where       # nothing else shows a probability
    table = np.full(P.shape, np.nan)
    for step, language, p in shown["table"]:
        table[step - 1, classes.index(language)] = p
    assert np.abs(table - P.numpy()).max() <= TOLERANCE, f"{where}: prefixes {table} vs rnnlib {P}"
    assert np.abs(table.sum(axis=1) - 1).max() <= 1e-6, where
    final = dict(shown["final"])
    assert list(final) == classes, where
    assert max(abs(final[c] - float(v)) for c, v in zip(classes, want["final"])) <= TOLERANCE, where
    assert abs(sum(final.values()) - 1) <= 1e-6, where
    top = sorted(want["final"].tolist())
    if top[-1] - top[-2] > TOLERANCE:                                 # no near tie: one answer
        assert shown["prediction"] == want["prediction"], where


@pytest.mark.parametrize("k", range(len(CELLS)), ids=CELLS)
def test_typing_shows_rnnlibs_probabilities_after_every_keystroke(live_page, models, k, artifacts):
    clf = models[0][CELLS[k]]
    box = live_page.page.locator('[data-rnn-live="classifier"]').nth(k)
    box.locator("input").wait_for()
    read = lambda: box.evaluate(READ_BOX)                            # noqa: E731
    assert_box_agrees(clf, read(), "as loaded")
    assert read()["value"] == "katze"
    for word in WORDS:
        field = box.locator("input")
        field.fill("")
        assert_box_agrees(clf, read(), "emptied")
        for n, char in enumerate(word):
            field.press_sequentially(char)
            assert_box_agrees(clf, read(), f"{CELLS[k]}: {word!r} after {n + 1} keystrokes")
        for n in range(3):
            field.press("Backspace")
            assert_box_agrees(clf, read(), f"{CELLS[k]}: {word!r} after {n + 1} backspaces")
    for word in ["a" * 1000, "b" * 1001, "A" * 4001]:                   # the length limits, pasted
        box.locator("input").fill(word)
        assert_box_agrees(clf, read(), f"{CELLS[k]}: {len(word)} letters")
    type_and_compare(clf, box, "Straße", CELLS[k])
    box.screenshot(path=artifacts / f"live_box_{CELLS[k]}.png")


# ---------------------------------------------------------------- the sampler against rnnlib

READ_SAMPLER = """box => {
    const word = box.querySelector('[data-word]'), stepper = box.querySelector('[data-rnn-step]');
    return {word: word.dataset.word, language: word.dataset.language,
            step: Number(stepper.value), last: Number(stepper.max),
            temperature: Number(box.querySelector('[data-rnn-temperature]').value),
            bars: [...box.querySelectorAll('[data-letter]')].map(e => [e.dataset.letter, Number(e.dataset.probability)]),
            drawn: box.querySelector('.rnn-live-drawn [data-letter]').dataset.letter,
            samples: box.querySelector('.rnn-live-samples').textContent};
}"""


def set_range(box, selector: str, value) -> None:
    box.locator(selector).evaluate("(e, v) => { e.value = v; e.dispatchEvent(new Event('input')); }", str(value))


def next_letter(lm: LanguageModel, language: str, prefix: str, temperature: float) -> np.ndarray:
    """rnnlib's softmax(V @ h_t / T) after ``<language> prefix``, through lm.rnn.forward."""
    codes = [lm.start(language)] + [lm.vocab.index[c] for c in prefix]
    h = lm.rnn.forward(torch.tensor(codes)[:, None]).H[-1]
    return torch.softmax((h @ lm.rnn.V.T).double() / temperature, dim=1)[0].numpy()


def assert_sampler_agrees(lm: LanguageModel, box) -> str:
    """Step through the drawn word: each step's bars are rnnlib's distribution, the drawn letter is the word's."""
    shown = box.evaluate(READ_SAMPLER)
    word, language, T = shown["word"], shown["language"], shown["temperature"]
    assert set(word) <= set(lm.vocab.chars) and len(word) <= LM_MAX_LENGTH, word
    assert shown["last"] == len(word)
    symbols = lm.vocab.chars + ["<end>"]
    for k in range(len(word) + 1):
        set_range(box, "[data-rnn-step]", k)
        shown = box.evaluate(READ_SAMPLER)
        assert [s for s, _ in shown["bars"]] == symbols
        p = np.array([v for _, v in shown["bars"]])
        want = next_letter(lm, language, word[:k], T)
        assert np.abs(p - want).max() <= TOLERANCE, f"{word!r} step {k}: {p} vs rnnlib {want}"
        assert abs(p.sum() - 1) <= 1e-6
        drawn = word[k] if k < len(word) else ("<end>" if len(word) < LM_MAX_LENGTH else None)
        if drawn:
            assert shown["drawn"] == drawn and p[symbols.index(drawn)] > 0, (word, k)
    return word


def test_sampler_draws_words_of_the_vocabulary_from_rnnlibs_distributions(live_page, models, artifacts):
    lm = models[1]
    box = live_page.page.locator('[data-rnn-live="sampler"]')
    box.locator("[data-rnn-step]").wait_for()
    drawn = [assert_sampler_agrees(lm, box)]
    for _ in range(5):
        box.locator("[data-rnn-sample]").click()
        drawn.append(assert_sampler_agrees(lm, box))
    assert len(set(drawn)) > 1, f"six draws, one word: {drawn}"
    assert box.evaluate(READ_SAMPLER)["samples"] == "drawn: " + " · ".join(reversed(drawn))
    set_range(box, "[data-rnn-step]", 2)
    box.screenshot(path=artifacts / "live_sampler.png")


def test_sampler_animates_the_next_letter_distribution(live_page):
    box = live_page.page.locator('[data-rnn-live="sampler"]')
    box.locator("[data-rnn-sample]").click()
    seen = set()
    for _ in range(100):
        shown = box.evaluate(READ_SAMPLER)
        seen.add((shown["step"], tuple(v for _, v in shown["bars"])))
        if shown["step"] == shown["last"]:
            break
        live_page.page.wait_for_timeout(50)
    assert shown["step"] == shown["last"], "the animation did not reach the word's end in 5 s"
    assert len({step for step, _ in seen}) == shown["last"] + 1 or shown["last"] == 0, sorted(s for s, _ in seen)
    assert len({bars for _, bars in seen}) == len({step for step, _ in seen})   # each step its own distribution


def test_the_temperature_slider_changes_the_distribution_as_rnnlib_does(live_page, models):
    lm = models[1]
    box = live_page.page.locator('[data-rnn-live="sampler"]')
    peaks = {}
    for T in [0.1, 2.0, 1.0]:
        set_range(box, "[data-rnn-temperature]", T)
        set_range(box, "[data-rnn-step]", 0)
        shown = box.evaluate(READ_SAMPLER)
        assert shown["temperature"] == T
        p = np.array([v for _, v in shown["bars"]])
        assert np.abs(p - next_letter(lm, shown["language"], "", T)).max() <= TOLERANCE, T
        peaks[T] = p.max()
        assert_sampler_agrees(lm, box)               # the word shown was drawn at this temperature
    assert peaks[0.1] > peaks[1.0] > peaks[2.0], peaks
    box.locator("select").select_option("French")
    assert box.evaluate(READ_SAMPLER)["language"] == "French"
    assert_sampler_agrees(lm, box)


# ---------------------------------------------------------------- the text rules against rnnlib.text

ALL_CODE_POINTS = """([rules, start, stop, what]) => {
    const r = window.rnnLive.textRules(rules), live = window.rnnLive;
    // one letter per code point: normalize's result where it changes the character, else '='; for repr,
    // 'p' where the character is printed as it is; for hint, its kind: '-' none, 'a', 'd' or 's'
    const kind = h => (h === '' ? '-' : h.includes('is a digit') ? 'd' : h.includes('separates') ? 's' : 'a');
    const out = what === 'normalize' ? {} : [];
    for (let n = start; n < stop; n++) {
        if (n >= 0xd800 && n < 0xe000) { if (what !== 'normalize') out.push('?'); continue; }   // not text
        const c = String.fromCodePoint(n);
        if (what === 'normalize') {
            let v;
            try { v = live.normalize(c, r); } catch (e) { v = 'ERROR ' + e.message; }
            if (v !== c) out[n] = v;
        } else out.push(what === 'repr' ? (live.repr(c) === "'" + c + "'" ? 'p' : 'e')
                                          : kind(live.hint([c], ['a', 'e', 'n', 'o', 'u'], r)));
    }
    return what === 'normalize' ? out : out.join('');
}"""


def python_side(what: str, c: str) -> str:
    """What ``ALL_CODE_POINTS`` computes, from rnnlib.text and Python's own repr."""
    if what == "repr":
        return "p" if repr(c) == f"'{c}'" else "e"
    if what == "hint":
        h = hint([c], "aenou")
        return "-" if not h else "d" if "is a digit" in h else "s" if "separates" in h else "a"
    try:
        return normalize(c)
    except ValueError as err:
        return f"ERROR {err}"


def rules_of(page) -> dict:
    """The text rules a word box of the page carries (the first box is one)."""
    return json.loads(page.locator("script.rnn-live-model").first.text_content())["text"]


@pytest.mark.parametrize("what", ["normalize", "repr", "hint"])
def test_the_pages_text_rules_are_rnnlibs_for_every_code_point(live_page, what):
    """normalize (strip, casefold, NFC), what repr escapes and hint's kind, one character at a time, all Unicode.

    Compared where Python's unicodedata has the character: Chromium's Unicode may be newer than
    Python's, and a character Python does not know is no letter, digit or printable one to it.
    """
    rules, differ = rules_of(live_page.page), {}
    for start in range(0, 0x110000, 0x10000):
        page = live_page.page.evaluate(ALL_CODE_POINTS, [rules, start, start + 0x10000, what])
        for n in range(start, start + 0x10000):
            if 0xD800 <= n < 0xE000 or unicodedata.category(chr(n)) == "Cn":
                continue
            want = python_side(what, chr(n))
            shown = page.get(str(n), chr(n)) if what == "normalize" else page[n - start]
            if shown != want:
                differ[hex(n)] = (shown, want)
    assert not differ, f"{len(differ)} code points differ, e.g. {dict(list(differ.items())[:10])}"


def test_the_pages_repr_and_hint_texts_are_pythons(live_page):
    """The exact texts, for the first 1,024 code points and 5,000 others drawn at random."""
    rng = random.Random(0)
    assigned = [n for n in range(0x110000) if not 0xD800 <= n < 0xE000 and unicodedata.category(chr(n)) != "Cn"]
    chars = [chr(n) for n in range(0x400)] + [chr(n) for n in rng.sample(assigned, 5000)]
    shown = live_page.page.evaluate("""([rules, chars]) => {
        const r = window.rnnLive.textRules(rules);
        return chars.map(c => [window.rnnLive.repr(c), window.rnnLive.hint([c], ['a', 'e', 'n', 'o', 'u'], r)]);
    }""", [rules_of(live_page.page), chars])
    for c, (text, tip) in zip(chars, shown):
        assert (text, tip) == (repr(c), hint([c], "aenou")), hex(ord(c))


def test_the_pages_normalisation_and_messages_are_rnnlibs_for_mixed_words(live_page):
    rng = random.Random(0)
    pool = (list("abcdeiklnostuzäéß-' 1²") + ["e\u0301", "\u0308", "\u0327", "Σ", "ς", "ΑΣ", "İ", "ı", "ﬁ", "ﬀ",
            "ǅ", "Å", "\u212b", "\u1100\u1161", "\u00a0", "\u2003", "\x1c", "\ufeff", "\t", "K", "\u0130",
            "\U00010400", "\U0001d400", "ŉ", "ǰ", "ẞ", "\u0345", "\u1e9e", "Ⅻ", "⑦", "\x00", "\u200b"])
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    texts += ["a" * 41, "é" * 1001, " " * 5000, "ab" * 2001]
    vocab = Vocab("abcdeiklnostuzäé' ")
    shown = live_page.page.evaluate("""([rules, vocab, texts]) => {
        const r = window.rnnLive.textRules(rules);
        const run = f => { try { return f(); } catch (e) { return 'ERROR ' + e.message; } };
        return texts.map(t => [run(() => window.rnnLive.normalize(t, r)),
                               run(() => window.rnnLive.encode(t, vocab, r).codes.join(',')),
                               window.rnnLive.quote(t)]);
    }""", [rules_of(live_page.page), vocab.chars, texts])

    def python(f):
        try:
            return f()
        except ValueError as err:
            return f"ERROR {err}"
    for text, (norm, codes, quoted) in zip(texts, shown):
        assert norm == python(lambda: normalize(text)), text
        assert codes == python(lambda: ",".join(map(str, vocab.encode(text)))), text
        assert quoted == quote(text), text


# ---------------------------------------------------------------- the same output in JupyterLab and on the site

def box_notebook(*boxes) -> nbformat.NotebookNode:
    """A notebook as nbclient saves it: each box the display output of an executed cell."""
    cells = [nbformat.v4.new_markdown_cell("# A live box")]
    for n, box in enumerate(boxes, start=1):
        cell = nbformat.v4.new_code_cell("live_box(clf)", execution_count=n)
        cell.outputs = [nbformat.v4.new_output("execute_result", {"text/html": box._repr_html_(), "text/plain": box.text},
                                               execution_count=n)]
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})


def type_and_compare(clf, box, word: str, where: str) -> None:
    field = box.locator("input")
    field.fill("")
    for n, char in enumerate(word):
        field.press_sequentially(char)
        assert_box_agrees(clf, box.evaluate(READ_BOX), f"{where}: {word!r} after {n + 1} keystrokes")


def test_the_same_output_works_in_jupyterlab_when_trusted_and_shows_its_text_when_not(models, chromium, tmp_path,
                                                                                       artifacts):
    from nbformat.sign import NotebookNotary

    clf = models[0]["gru"]
    box = live_box(clf, "katze")
    folder, trust = tmp_path / "notebooks", tmp_path / "readers-trust"
    folder.mkdir()
    trust.mkdir()
    trusted = box_notebook(box)
    NotebookNotary(data_dir=str(trust)).sign(trusted)       # what the README's `jupyter trust` does
    nbformat.write(trusted, folder / "trusted.ipynb")
    nbformat.write(box_notebook(box), folder / "untrusted.ipynb")
    server = JupyterLab.start(folder, tmp_path / "lab", readers_data_dir=trust)
    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        lab = NotebookPage.open(page, server, "trusted.ipynb")
        live = page.locator(".jp-Notebook [data-rnn-live][data-booted]")
        live.locator("input").wait_for(timeout=30_000)
        cells = page.locator(".jp-Notebook .jp-Cell").count()
        type_and_compare(clf, live, "Straße", "JupyterLab, before the notebook runs")
        type_and_compare(clf, live, "dda", "JupyterLab")           # d d deletes a cell, a inserts one: not here
        assert page.locator(".jp-Notebook .jp-Cell").count() == cells
        assert all(c["count"] == 1 or c["type"] != "code" for c in lab.cells())  # nothing ran
        live.screenshot(path=artifacts / "live_box_jupyterlab.png")
        lab.close()
        lab = NotebookPage.open(page, server, "untrusted.ipynb")
        output = page.locator(".jp-Notebook .jp-OutputArea-output").first
        output.wait_for()
        assert box.text in output.inner_text()
        assert page.locator(".jp-Notebook [data-rnn-live] input").count() == 0
        output.screenshot(path=artifacts / "live_box_jupyterlab_untrusted.png")
        lab.close()
        assert not [e for e in errors if not is_kernel_stopped_note(e)], errors
    finally:
        context.close()
        server.stop()


def test_a_live_box_in_a_built_site_runs_with_no_kernel(models, served, chromium, tmp_path, artifacts):
    sys.path.insert(0, str(ROOT / "site"))
    import build

    clf = models[0]["tanh"]
    books = tmp_path / "notebooks"
    books.mkdir()
    nbformat.write(box_notebook(live_box(clf, "katze")), books / "13_what_it_learned.ipynb")
    folder, base = served
    build.build(folder / "site", books)
    tab = Tab(chromium, f"{base}/site/13_what_it_learned.html")
    try:
        live = tab.page.locator("[data-rnn-live][data-booted]")
        live.locator("input").wait_for()
        assert_box_agrees(clf, live.evaluate(READ_BOX), "the built page as loaded")
        type_and_compare(clf, live, "Schiffahrt", "the built page")
        live.screenshot(path=artifacts / "live_box_site.png")
        tab.clean()
    finally:
        tab.context.close()


def test_the_box_reads_on_a_phone(live_page, served, chromium, artifacts):
    """At 390 px nothing sticks out of the page sideways (the table scrolls inside its own box)."""
    tab = Tab(chromium, f"{served[1]}/live.html", viewport={"width": 390, "height": 800})
    try:
        tab.page.locator("[data-rnn-live] input").first.wait_for()
        width = tab.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        tab.page.screenshot(path=artifacts / "live_phone.png", full_page=True)
        tab.clean()
    finally:
        tab.context.close()


def classifier_of(config: dict) -> Classifier:
    """The classifier whose weights a live box carries (its JSON), rebuilt for rnnlib to compute with."""
    model = config["model"]
    shapes = {name: (rows, cols) for name, rows, cols in model["shapes"]}
    rnn = RNN(shapes["U"][1], model["nhidden"], shapes["V"][0], cell=model["cell"])
    rnn.theta.copy_(torch.from_numpy(np.frombuffer(base64.b64decode(model["weights"]), dtype="<f4").copy()))
    return Classifier(Vocab(config["vocab"]), Labels(config["classes"]), rnn=rnn)
