"""Pictures of a trained classifier: learning curves and the confusion matrix (pyplot figures, shown under the cell)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator

HISTORY_KEYS = ("train_loss", "train_accuracy", "valid_loss", "valid_accuracy")


def plot_history(history) -> plt.Figure:
    """Loss and accuracy per epoch, training and validation, of a ``train.History`` or of a dict of lists (a
    loop written by hand) with its keys (``valid_...`` optional). Shown in notebooks 11 and 12."""
    get = history.get if isinstance(history, Mapping) else lambda key: getattr(history, key, None)
    lists = {key: get(key) for key in HISTORY_KEYS}
    if lists["train_loss"] is None or lists["train_accuracy"] is None:
        raise TypeError("plot_history takes a History or a dict with train_loss and train_accuracy lists "
                        f"(valid_loss and valid_accuracy optional), got {type(history).__name__}")
    lists = {key: [float(v) for v in value or []] for key, value in lists.items()}
    nepochs = len(lists["train_loss"])
    if nepochs == 0:
        raise ValueError("the history is empty: train for at least one epoch")
    for key, values in lists.items():
        if values and len(values) != nepochs:
            raise ValueError(f"{key} has {len(values)} values but train_loss has {nepochs}: one per epoch each")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, what, title in zip(axes, ("loss", "accuracy"), ("cross-entropy loss (mean per target)", "accuracy")):
        for split, style, label in (("train", "o-", "training"), ("valid", "s--", "validation")):
            if lists[f"{split}_{what}"]:
                ax.plot(range(1, nepochs + 1), lists[f"{split}_{what}"], style, label=label)
        ax.set(xlabel="epoch", title=title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))     # whole epochs, not too many
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def confusion_matrix(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> torch.Tensor:
    """``M[i, j]``: the words of ``classes[i]`` predicted as ``classes[j]`` (a long tensor; a row sums to
    the words of that class, the diagonal holds the right answers). Notebook 7, with the first accuracy."""
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
    rows, columns = (torch.tensor([index[c] for c in labels], dtype=torch.long) for labels in (y_true, y_pred))
    M.index_put_((rows, columns), torch.tensor(1), accumulate=True)
    return M


def row_rates(matrix) -> torch.Tensor:
    """Each row divided by its sum: the share of each true class predicted as each class (notebooks 7, 12)."""
    M = torch.as_tensor(matrix, dtype=torch.float64)
    totals = M.sum(dim=1, keepdim=True)
    return torch.where(totals > 0, M / totals.clamp(min=1), torch.zeros_like(M))


def plot_confusion(matrix, classes: Sequence[str], normalize: bool = True, numbers: bool = True) -> plt.Figure:
    """The confusion matrix as coloured cells, rows true classes, columns predictions: each row's rates
    (``normalize``: classes of different sizes compare) or the counts; ``numbers=False``, colours only
    (18 x 18 numbers take a second to draw). Notebook 7 (three languages) and 12 (18 surnames')."""
    M, classes = torch.as_tensor(matrix), list(classes)
    if M.dim() != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"a confusion matrix is square, got shape {tuple(M.shape)}")
    if M.shape[0] != len(classes):
        raise ValueError(f"the matrix is {M.shape[0]} x {M.shape[1]} but there are {len(classes)} classes")
    shown, n = row_rates(M) if normalize else M.to(torch.float64), len(classes)
    cell = min(1.2, 11 / n)                 # inches: a few classes get big cells, 18 still fit a screen
    fig, ax = plt.subplots(figsize=(cell * n + 2, cell * n * 11 / 12 + 1.2))
    image = ax.imshow(shown.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
    dark = 0.6 * (1 if normalize else shown.max().item())
    for (i, j), value in (((i, j), shown[i, j].item()) for i in range(n) for j in range(n) if numbers):
        ax.text(j, i, f"{value:.2f}" if normalize else str(int(value)), ha="center", va="center",
                color="white" if value > dark else "black", fontsize=10 if n <= 8 else 8)
    ax.set_xticks(range(n), classes, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
    ax.set_yticks(range(n), classes)
    ax.set(xlabel="predicted", ylabel="true", title="share of each true class" if normalize else "counts")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig
