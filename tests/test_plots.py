"""rnnlib.show.plots: the confusion matrix counts, clear errors, figures that draw what they were given."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rnnlib.show.plots import confusion_matrix, plot_confusion, plot_history, row_rates  # noqa: E402
from rnnlib.train import History  # noqa: E402

CLASSES = ["English", "French", "German"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------- confusion matrix

def test_confusion_matrix_counts_a_small_case_by_hand():
    y_true = ["English", "English", "French", "German", "German", "German"]
    y_pred = ["English", "French", "French", "German", "English", "German"]
    M = confusion_matrix(y_true, y_pred, CLASSES)
    # rows: true English (1 right, 1 as French), French (1 right), German (1 as English, 2 right)
    assert M.tolist() == [[1, 1, 0],
                          [0, 1, 0],
                          [1, 0, 2]]
    assert M.dtype == torch.long
    assert M.sum().item() == len(y_true)


def test_confusion_matrix_follows_the_order_of_classes():
    y_true, y_pred = ["a", "a", "b"], ["b", "a", "b"]
    assert confusion_matrix(y_true, y_pred, ["a", "b"]).tolist() == [[1, 1], [0, 1]]
    assert confusion_matrix(y_true, y_pred, ["b", "a"]).tolist() == [[1, 0], [1, 1]]


def test_confusion_matrix_has_a_zero_row_for_an_absent_class():
    M = confusion_matrix(["English"], ["German"], CLASSES)
    assert M.tolist() == [[0, 0, 1], [0, 0, 0], [0, 0, 0]]
    assert row_rates(M).tolist() == [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_row_rates_sum_to_one_per_row():
    rates = row_rates(torch.tensor([[3, 1], [0, 4]]))
    torch.testing.assert_close(rates, torch.tensor([[0.75, 0.25], [0.0, 1.0]], dtype=torch.float64))


@pytest.mark.parametrize("y_true, y_pred, classes, message", [
    (["English"], ["English", "French"], CLASSES, "y_true has 1 labels but y_pred has 2"),
    (["Spanish"], ["English"], CLASSES, "y_true has labels that are not in classes: ['Spanish']"),
    (["English"], ["Dutch"], CLASSES, "y_pred has labels that are not in classes: ['Dutch']"),
    (["English"], ["English"], ["English", "English"], "classes must be distinct"),
])
def test_confusion_matrix_rejects_bad_input_in_one_line(y_true, y_pred, classes, message):
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("]", r"\]")) as err:
        confusion_matrix(y_true, y_pred, classes)
    assert "\n" not in str(err.value)


def test_confusion_matrix_refuses_a_string_for_a_list():
    with pytest.raises(TypeError, match="not the single string"):
        confusion_matrix("English", ["English"], CLASSES)


# ---------------------------------------------------------------- figures

def test_plot_history_takes_a_history_or_a_dict():
    history = History(train_loss=[0.9, 0.6], train_accuracy=[0.6, 0.8],
                      valid_loss=[0.8, 0.7], valid_accuracy=[0.7, 0.75], seconds=[1.0, 1.0])
    fig = plot_history(history)
    assert isinstance(fig, plt.Figure)
    loss_ax, accuracy_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == ["training", "validation"]
    assert list(accuracy_ax.get_lines()[1].get_ydata()) == [0.7, 0.75]
    fig.canvas.draw()

    fig = plot_history({"train_loss": [1.0], "train_accuracy": [0.5]})  # no validation
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1]
    fig.canvas.draw()


@pytest.mark.parametrize("history, error, message", [
    ({"train_loss": [1.0, 0.5], "train_accuracy": [0.5]}, ValueError, "train_accuracy has 1 values"),
    ({"train_loss": [], "train_accuracy": []}, ValueError, "the history is empty"),
    ({"loss": [1.0]}, TypeError, "plot_history takes a History or a dict"),
    ([1.0, 0.5], TypeError, "plot_history takes a History or a dict"),
])
def test_plot_history_rejects_bad_input(history, error, message):
    with pytest.raises(error, match=message):
        plot_history(history)


def test_plot_confusion_draws_rates_or_counts():
    M = torch.tensor([[8, 2, 0], [1, 9, 0], [0, 3, 7]])
    fig = plot_confusion(M, CLASSES)
    assert isinstance(fig, plt.Figure)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:3] == ["0.80", "0.20", "0.00"]
    fig.canvas.draw()
    counts = [t.get_text() for t in plot_confusion(M, CLASSES, normalize=False).axes[0].texts]
    assert counts[:3] == ["8", "2", "0"]
    colours_only = plot_confusion(M, CLASSES, numbers=False).axes[0]
    assert not colours_only.texts and colours_only.images[0].get_array()[0, 0] == 0.8


def test_plot_confusion_rejects_a_matrix_that_does_not_fit_the_classes():
    with pytest.raises(ValueError, match="the matrix is 2 x 2 but there are 3 classes"):
        plot_confusion(torch.eye(2), CLASSES)
    with pytest.raises(ValueError, match="a confusion matrix is square"):
        plot_confusion(torch.ones(2, 3), CLASSES[:2])
