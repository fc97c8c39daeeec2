"""rnnlib: the small shared library of the course "RNNs with nothing but matrices and vectors".

One module per idea:

* ``rnnlib.data``  - real words (wordfreq) and the surnames data set, a stratified split
* ``rnnlib.vocab`` - character vocabulary, label encoding, one-hot vectors and batches
* ``rnnlib.model`` - the RNN ``h = f(W@h + U@x_t + b)``, ``o = V@h``, and a classifier around it
* ``rnnlib.train`` - per-record, minibatch and vectorized training; evaluation; device choice
* ``rnnlib.anim``  - the unrolled loop, step by step: ipywidgets players and static pictures
* ``rnnlib.plot``  - learning curves, confusion matrices, the word box
* ``rnnlib.cli``   - ``python -m rnnlib train|predict``

Example, offline::

    >>> import rnnlib
    >>> X, y = rnnlib.data.words(per_language=100)
    >>> len(X), sorted(set(y))
    (300, ['English', 'French', 'German'])
"""
from . import anim, data, model, plot, train, vocab

__all__ = ["data", "vocab", "model", "train", "anim", "plot"]
