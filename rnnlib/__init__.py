"""rnnlib: the small shared library of the course "RNNs with nothing but matrices and vectors".

One module per idea:

* ``rnnlib.data``     - real words (wordfreq) and the surnames data set, a stratified split
* ``rnnlib.download`` - finding, verifying and safely extracting the surnames files
* ``rnnlib.checks``   - the one copy of each argument check (positive integers, seeds, choices)
* ``rnnlib.vocab``    - character vocabulary, label encoding, one-hot vectors and batches
* ``rnnlib.model``    - the RNN ``h = f(W@h + U@x_t + b)``, ``o = V@h``, and a classifier around it
* ``rnnlib.train``    - per-record, minibatch and vectorized training; evaluation; device choice
* ``rnnlib.steps``    - the loop unrolled, one ``Step`` (every vector) per character
* ``rnnlib.cells``    - matrices drawn as coloured cells; the fast renderer of the player's frames
* ``rnnlib.player``   - the ipywidgets ``Player``: Play, slider and word box over pre-rendered frames
* ``rnnlib.pictures`` - the whole loop in one static picture; the frames of the integer loop
* ``rnnlib.backprop`` - backpropagation through time written out; ``backprop_pictures`` draws it
* ``rnnlib.embeddings`` - the vectors inside a trained model: columns of U, the last h of words
* ``rnnlib.prefixes`` - the prediction after every character, and its player
* ``rnnlib.plot``     - learning curves, confusion matrices, the word box
* ``rnnlib.cli``      - ``python -m rnnlib train|predict``

``import rnnlib`` loads the first four only: the command line and scripts
need neither matplotlib nor ipywidgets. Import the others by name
(``from rnnlib.player import matrix_player``).

Example, offline::

    >>> import rnnlib
    >>> X, y = rnnlib.data.words(per_language=100)
    >>> len(X), sorted(set(y))
    (300, ['English', 'French', 'German'])
"""
from . import data, model, train, vocab

__all__ = ["data", "vocab", "model", "train"]
