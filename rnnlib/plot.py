"""Pictures and widgets of a trained classifier: learning curves, confusion matrix, word box.

    plot_history(history)                    loss and accuracy per epoch, training and validation
    confusion_matrix(y_true, y_pred, classes) counts: row = true class, column = predicted class
    plot_confusion(matrix, classes)          that matrix as a picture, rows normalised to rates
    WordBox(predict_proba, classes)          type a word, read its probability for each class

The plots return a matplotlib Figure made with pyplot, so a notebook shows it
once, under the cell. The word box updates its probabilities in an HTML widget
(no Output widget), so a saved notebook shows them even without a kernel.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

HISTORY_KEYS = ("train_loss", "train_accuracy", "valid_loss", "valid_accuracy")


# ---------------------------------------------------------------- learning curves

def _history_lists(history) -> dict[str, list[float]]:
    """The four per-epoch lists of a ``train.History`` or of a dict with those keys.

    A dict too, so that a loop written by hand, as the notebooks write theirs, can be
    plotted without a library class.
    """
    get = history.get if isinstance(history, Mapping) else lambda key: getattr(history, key, None)
    lists = {key: get(key) for key in HISTORY_KEYS}
    if lists["train_loss"] is None or lists["train_accuracy"] is None:
        raise TypeError("plot_history takes a History or a dict with train_loss and train_accuracy lists "
                        "(valid_loss and valid_accuracy optional), got " + type(history).__name__)
    lists = {key: [] if value is None else [float(v) for v in value] for key, value in lists.items()}
    nepochs = len(lists["train_loss"])
    if nepochs == 0:
        raise ValueError("the history is empty: train for at least one epoch")
    for key, values in lists.items():
        if values and len(values) != nepochs:
            raise ValueError(f"{key} has {len(values)} values but train_loss has {nepochs}: one per epoch each")
    return lists


def plot_history(history) -> plt.Figure:
    """Loss (left) and accuracy (right) per epoch, training and validation.

    ``history`` is a ``rnnlib.train.History`` or a dict of lists with the keys
    ``train_loss``, ``train_accuracy`` and, optionally, ``valid_loss``,
    ``valid_accuracy``. Shown in notebook 11, 'The RNN' (the History of ``fit``).
    """
    lists = _history_lists(history)
    epochs = range(1, len(lists["train_loss"]) + 1)
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, what in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
        for split, style in (("train", "o-"), ("valid", "s--")):
            values = lists[f"{split}_{what}"]
            if values:
                ax.plot(epochs, values, style, label="training" if split == "train" else "validation")
        ax.set_xlabel("epoch")
        ax.set_xticks(list(epochs))
        ax.grid(alpha=0.3)
        ax.legend()
    loss_ax.set_title("cross-entropy loss (mean per word)")
    accuracy_ax.set_title("accuracy")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- confusion matrix

def confusion_matrix(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> torch.Tensor:
    """Counts of (true class, predicted class): ``M[i, j]`` words of ``classes[i]`` predicted as ``classes[j]``.

    Returns a ``len(classes) x len(classes)`` long tensor; row sums are the
    number of words of each true class. Explained in notebook 07, 'Which
    languages get confused' (its diagonal holds the right answers).
    """
    for name, labels in (("y_true", y_true), ("y_pred", y_pred), ("classes", classes)):
        if isinstance(labels, str):
            raise TypeError(f"{name} must be a list of class names, not the single string {labels!r}")
    y_true, y_pred, classes = list(y_true), list(y_pred), list(classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}: one prediction per word")
    if len(set(classes)) != len(classes) or not classes:
        raise ValueError(f"classes must be distinct class names, got {classes!r}")
    index = {c: i for i, c in enumerate(classes)}
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        unknown = sorted({str(label) for label in labels if label not in index})
        if unknown:
            raise ValueError(f"{name} has labels that are not in classes: {unknown}; classes: {classes}")
    M = torch.zeros(len(classes), len(classes), dtype=torch.long)
    for t, p in zip(y_true, y_pred):
        M[index[t], index[p]] += 1
    return M


def row_rates(matrix) -> torch.Tensor:
    """Each row divided by its sum: the share of each true class predicted as each class.

    Printed in notebook 07, 'Which languages get confused'.
    """
    M = torch.as_tensor(matrix, dtype=torch.float64)
    totals = M.sum(dim=1, keepdim=True)
    return torch.where(totals > 0, M / totals.clamp(min=1), torch.zeros_like(M))


def plot_confusion(matrix, classes: Sequence[str], normalize: bool = True, numbers: bool = True) -> plt.Figure:
    """The confusion matrix as coloured cells: rows true classes, columns predictions.

    With ``normalize=True`` the cells show each row's rates (a row sums to 1),
    so classes of different sizes compare; otherwise the raw counts. ``numbers=False``
    draws the colours only (18 x 18 numbers take a second to draw). Shown in
    notebook 07 and notebook 11, 'Which languages get confused'.
    """
    M = torch.as_tensor(matrix)
    classes = list(classes)
    if M.dim() != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"a confusion matrix is square, got shape {tuple(M.shape)}")
    if M.shape[0] != len(classes):
        raise ValueError(f"the matrix is {M.shape[0]} x {M.shape[1]} but there are {len(classes)} classes")
    shown = row_rates(M) if normalize else M.to(torch.float64)
    n = len(classes)
    cell = min(1.2, 11 / n)  # inches: a few classes get big cells, 18 still fit a screen
    fig, ax = plt.subplots(figsize=(cell * n + 2, cell * n * 11 / 12 + 1.2))
    fontsize = 10 if n <= 8 else 8
    image = ax.imshow(shown.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
    for i in range(n if numbers else 0):
        for j in range(n):
            value = shown[i, j].item()
            text = f"{value:.2f}" if normalize else str(int(value))
            dark = value > (0.6 if normalize else 0.6 * shown.max().item())
            ax.text(j, i, text, ha="center", va="center", color="white" if dark else "black",
                    fontsize=fontsize)
    ax.set_xticks(range(n), classes, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("share of each true class" if normalize else "counts")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- the word box

def format_probabilities(probabilities: Sequence[float], classes: Sequence[str]) -> str:
    """``English 0.12 · <b>French 0.80</b> · German 0.08``: the most probable class in bold.

    The line of probabilities that notebook 07, 'cat, chat, katze' prints for each word.
    """
    probabilities = [float(p) for p in probabilities]
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    parts = [f"{html.escape(c)} {p:.2f}" for c, p in zip(classes, probabilities)]
    parts[best] = f"<b>{parts[best]}</b>"
    return " · ".join(parts)


class WordBox(widgets.VBox):
    """A Text box for a word and an HTML line with its probability for each class.

    ``text`` (CSS class ``word-box-input``) and ``probabilities`` (CSS class
    ``word-probabilities``) are the two widgets. A word the model cannot read
    shows its one-line error in place of the probabilities. Type a word, see
    ``predict_proba([word])`` as one probability per class, updated as you
    type. Not written out (a widget); seen in notebook 07, 'cat, chat, katze'
    and notebook 11, 'A few names'.
    """

    def __init__(self, predict_proba: Callable[[list[str]], torch.Tensor], classes: Sequence[str],
                 value: str = "katze"):
        if not callable(predict_proba):
            raise TypeError(f"predict_proba must be a function of a list of words, got {type(predict_proba).__name__}")
        self.predict_proba, self.classes = predict_proba, list(classes)
        self.text = widgets.Text(value=value, description="word", placeholder="type a word",
                                 continuous_update=True)
        self.text.add_class("word-box-input")
        self.probabilities = widgets.HTML()
        self.probabilities.add_class("word-probabilities")
        self.text.observe(self._update, names="value")
        super().__init__([self.text, self.probabilities])
        self._update({"new": value})

    def _update(self, change: dict) -> None:
        word = change["new"]
        if not word.strip():
            self.probabilities.value = "<i>type a word</i>"
            return
        try:
            p = torch.as_tensor(self.predict_proba([word]))
        except (ValueError, TypeError) as err:
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            self.probabilities.value = f"<span style='color:#b00020'>{html.escape(message)}</span>"
            return
        if p.shape != (1, len(self.classes)):
            raise ValueError(f"predict_proba returned shape {tuple(p.shape)} for one word; "
                             f"expected (1, {len(self.classes)}), one probability per class")
        self.probabilities.value = format_probabilities(p[0].tolist(), self.classes)
