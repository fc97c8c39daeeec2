"""rnnlib: the small library of the course "RNNs with nothing but matrices and vectors".

Each module is one idea, and names the notebook that writes the same code out (the
README's module table lists them). ``import rnnlib`` loads the text, data and the model
(torch only); the pictures and players (``rnnlib.show``) need matplotlib and ipywidgets
and are imported by name.

    >>> import rnnlib
    >>> X, y = rnnlib.data.words(per_language=100)
    >>> len(X), sorted(set(y))
    (300, ['English', 'French', 'German'])
"""
from . import data, model, text, train

__all__ = ["data", "text", "model", "train"]
