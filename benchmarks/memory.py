"""The memory task (notebook 14): the tanh RNN against the GRU as the distance to remember grows.

    python benchmarks/memory.py               # about 8 minutes on 2 idle cores
    python benchmarks/memory.py --lengths 5,20 --workers 1
    python benchmarks/memory.py --real-tasks  # the GRU against tanh on words and surnames instead (about a minute)

A word is one of 4 class symbols, then ``L`` distractors from 4 other symbols; its class is its
first symbol (``rnnlib.memory``; chance 1/4). Both cells train with ``rnnlib.train.fit`` under
the same budget: Adam, batch 64, ``UPDATES`` updates on fresh words (one epoch, every word seen
once), clipping at 1, hidden 32, float32. The tuning is the same for both: on seed 0, every
start of the cell (tanh: ``default`` W from +-1/sqrt(nh), or ``identity`` W as Parr's article;
GRU: the update gate's bias at 0, the default, +1 or +3, ``rnnlib.memory.open_update_gate``)
with each of ``LRS``, scored on validation words. The start chosen is the one of best mean
accuracy (then loss) over the learning rates (one that works at one rate only is fragile), its learning rate
the best of its three (accuracy, then loss); that setting then runs on seeds 0-4 and is scored on
other, test words. Prints ``name=value`` lines:

* ``memory_<cell>_tuning_L<L>_<start>_lr<lr>``: seed 0's validation accuracy of each setting;
* ``memory_<cell>_start_L<L>``, ``memory_<cell>_lr_L<L>``: the setting chosen;
* ``memory_<cell>_accuracy_L<L>`` (median of 5 seeds, with ``_min``, ``_max``): test accuracy;
* ``memory_<cell>_first_step_gradient_L<L>``: ``|dL/dh_1| / |dL/dh_T|`` at the start of
  training (median of the 5 seeds; ``rnnlib.memory.first_step_gradient``), the gradient that
  has to carry the first symbol back: notebook 9's vanishing gradient;
* ``memory_<cell>_<start>_accuracy_L<STUDY_LENGTH>``, ``..._first_step_gradient_L<STUDY_LENGTH>``:
  every start of each cell over the 5 seeds, each at its own best learning rate on seed 0, at
  one length (how a cell is started);
* ``memory_chance``, and the headline ``memory_length`` (the longest length),
  ``memory_tanh_accuracy``, ``memory_gru_accuracy`` at that length; ``memory_seconds``.

``--real-tasks``: the two cells on the course's words (``per_language=4000``, the course's split)
and on the surnames (``RNNLIB_DATA``, cleaned by ``data.surnames``), hidden 64, batch 32, ``REAL_EPOCHS`` epochs of ``fit``'s
default trainer: each cell's learning rate chosen from ``REAL_LRS`` on seed 0 by the accuracy on a
tenth of the training words held out, then trained on all of them on seeds 0-4:
``<task>_<cell>_lr``, ``<task>_<cell>_valid_accuracy`` (median, ``_min``, ``_max``), ``<task>_<cell>_seconds_per_epoch``.
"""
from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from rnnlib.data import split, surnames, words
from rnnlib.memory import first_step_gradient, memory_classifier, memory_task, open_update_gate
from rnnlib.model import Classifier
from rnnlib.train import evaluate, fit

LENGTHS = (5, 10, 20, 50, 100)
STUDY_LENGTH = 50
NHIDDEN, BATCH_SIZE, UPDATES, CLASSES = 32, 64, 1000, 4
LRS = (0.003, 0.01, 0.03)
STARTS = {"tanh": ("default", "identity"), "gru": ("gate0", "gate1", "gate3")}
SEEDS = range(5)
SCORING, SCORED = {"valid": 1_000_000, "test": 2_000_000}, 1000   # seeds of words never trained on; how many


def started(cell: str, start: str, seed: int):
    clf = memory_classifier(CLASSES, nhidden=NHIDDEN, cell=cell, seed=seed)
    if start == "identity":
        clf.rnn.W.copy_(torch.eye(NHIDDEN))
    elif start.startswith("gate"):
        open_update_gate(clf, float(start[4:]))
    return clf


def runs(cell: str, length: int, seed: int, settings: list[tuple[str, float]]) -> list[dict]:
    """Train each (start, lr) of ``settings`` on seed ``seed``'s words; score each on the validation and test words."""
    torch.set_num_threads(1)
    X, y = memory_task(length, UPDATES * BATCH_SIZE, CLASSES, seed=seed)
    scoring = {part: memory_task(length, SCORED, CLASSES, seed=offset + length) for part, offset in SCORING.items()}
    out = []
    for start, lr in settings:
        clf = started(cell, start, seed)
        record = {"cell": cell, "length": length, "seed": seed, "start": start, "lr": lr,
                  "gradient": first_step_gradient(clf, scoring["valid"][0][:256], scoring["valid"][1][:256])}
        fit(clf, X, y, epochs=1, batch_size=BATCH_SIZE, lr=lr, seed=seed)
        for part, (X_score, y_score) in scoring.items():
            record[f"{part}_loss"], record[f"{part}_accuracy"] = evaluate(clf, X_score, y_score)
        out.append(record)
    return out


REAL_EPOCHS, REAL_LRS, REAL_NHIDDEN, REAL_BATCH_SIZE = 10, (0.001, 0.002, 0.005), 64, 32


def real_task(task: str):
    X, y = words(per_language=4000) if task == "words" else surnames()
    return X, y, *split(X, y, valid_fraction=0.2, seed=0)


def real_run(task: str, cell: str, lr: float, seed: int, tuning: bool) -> dict:
    """One training run on the words or the surnames; ``tuning``: scored on a tenth of the training words held out."""
    torch.set_num_threads(1)
    X, y, X_train, X_valid, y_train, y_valid = real_task(task)
    if tuning:
        X_train, X_valid, y_train, y_valid = split(X_train, y_train, valid_fraction=0.1, seed=1)
    clf = Classifier.from_data(X, y, nhidden=REAL_NHIDDEN, cell=cell, seed=seed)
    history = fit(clf, X_train, y_train, epochs=REAL_EPOCHS, batch_size=REAL_BATCH_SIZE, lr=lr, seed=seed)
    return {"task": task, "cell": cell, "lr": lr, "seed": seed, "tuning": tuning,
            "accuracy": evaluate(clf, X_valid, y_valid)[1], "seconds": min(history.seconds)}


def real_tasks(workers: int) -> None:
    begun = time.perf_counter()
    keys = [(task, cell) for task in ("words", "surnames") for cell in STARTS]
    with ProcessPoolExecutor(workers) as pool:
        tuned = [f.result() for f in [pool.submit(real_run, *key, lr, 0, True) for key in keys for lr in REAL_LRS]]
        lr = {key: max((r for r in tuned if (r["task"], r["cell"]) == key), key=lambda r: r["accuracy"])["lr"]
              for key in keys}
        runs = [f.result() for f in [pool.submit(real_run, *key, lr[key], seed, False) for key in keys for seed in SEEDS]]
    for r in tuned:
        print(f"{r['task']}_{r['cell']}_tuning_lr{r['lr']:g}={r['accuracy']:.3f}")
    for task, cell in keys:
        mine = [r for r in runs if (r["task"], r["cell"]) == (task, cell)]
        print(f"{task}_{cell}_lr={lr[task, cell]:g}", *spread(f"{task}_{cell}_valid_accuracy", [r["accuracy"] for r in mine]),
              f"{task}_{cell}_seconds_per_epoch={statistics.median(r['seconds'] for r in mine):.2f}", sep="\n")
    print(f"real_tasks_epochs={REAL_EPOCHS}", f"real_tasks_seconds={time.perf_counter() - begun:.0f}", sep="\n")


def spread(name: str, values: list[float]) -> list[str]:
    return [f"{name}={statistics.median(values):.3f}", f"{name}_min={min(values):.3f}", f"{name}_max={max(values):.3f}"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)), help="distractor counts L, comma-separated")
    parser.add_argument("--workers", type=int, default=2, help="processes, one CPU thread each (default 2)")
    parser.add_argument("--real-tasks", action="store_true", help="words and surnames instead of the memory task")
    args = parser.parse_args(argv)
    if args.real_tasks:
        return real_tasks(args.workers)
    lengths = sorted(int(n) for n in args.lengths.split(","))
    study = STUDY_LENGTH if STUDY_LENGTH in lengths else lengths[-1]
    begun = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        def gather(jobs):              # the longest words first, so that the workers finish together
            jobs = sorted(jobs, key=lambda job: -job[1] * (3 if job[0] == "gru" else 1) * len(job[3]))
            return [r for future in [pool.submit(runs, *job) for job in jobs] for r in future.result()]

        results = gather([(c, n, 0, [(start, lr) for lr in LRS]) for c in STARTS for n in lengths for start in STARTS[c]])
        order = {(c, s): k for k, (c, s) in enumerate((c, s) for c in STARTS for s in STARTS[c])}
        tuning = sorted(results, key=lambda r: (r["length"], order[r["cell"], r["start"]], r["lr"]))
        score = lambda r: (r["valid_accuracy"], -r["valid_loss"])  # noqa: E731
        studied = {(c, n, s): max((r for r in tuning if (r["cell"], r["length"], r["start"]) == (c, n, s)), key=score)
                   for c in STARTS for n in lengths for s in STARTS[c]}
        def mean_score(c: str, n: int, s: str) -> tuple[float, float]:
            mine = [score(r) for r in tuning if (r["cell"], r["length"], r["start"]) == (c, n, s)]
            return statistics.mean(a for a, _ in mine), statistics.mean(b for _, b in mine)
        chosen = {(c, n): studied[c, n, max(STARTS[c], key=lambda s: mean_score(c, n, s))]
                  for c in STARTS for n in lengths}
        studied = {(c, s): studied[c, study, s] for c in STARTS for s in STARTS[c]}
        settings = {(c, n): {(chosen[c, n]["start"], chosen[c, n]["lr"])} for c in STARTS for n in lengths}
        for (c, s), r in studied.items():
            settings[c, study].add((s, r["lr"]))
        results += gather([(c, n, seed, sorted(s)) for (c, n), s in settings.items() for seed in SEEDS[1:]])

    def over_seeds(c: str, n: int, setting: dict) -> list[dict]:
        return [r for r in results if (r["cell"], r["length"], r["start"], r["lr"]) == (c, n, setting["start"], setting["lr"])]

    print(f"memory_chance={1 / CLASSES:.3f}")
    for r in tuning:
        print(f"memory_{r['cell']}_tuning_L{r['length']}_{r['start']}_lr{r['lr']:g}={r['valid_accuracy']:.3f}")
    for n in lengths:
        for c in STARTS:
            mine = over_seeds(c, n, chosen[c, n])
            print(f"memory_{c}_start_L{n}={chosen[c, n]['start']}", f"memory_{c}_lr_L{n}={chosen[c, n]['lr']:g}",
                  *spread(f"memory_{c}_accuracy_L{n}", [r["test_accuracy"] for r in mine]),
                  f"memory_{c}_first_step_gradient_L{n}={statistics.median(r['gradient'] for r in mine):.2e}", sep="\n")
    for (c, s), setting in studied.items():
        mine = over_seeds(c, study, setting)
        print(f"memory_{c}_{s}_lr_L{study}={setting['lr']:g}",
              *spread(f"memory_{c}_{s}_accuracy_L{study}", [r["test_accuracy"] for r in mine]),
              f"memory_{c}_{s}_first_step_gradient_L{study}={statistics.median(r['gradient'] for r in mine):.2e}", sep="\n")
    longest = lengths[-1]
    print(f"memory_length={longest}")
    for c in STARTS:
        accuracy = statistics.median(r["test_accuracy"] for r in over_seeds(c, longest, chosen[c, longest]))
        print(f"memory_{c}_accuracy={accuracy:.3f}")
    print(f"memory_seconds={time.perf_counter() - begun:.0f}")


if __name__ == "__main__":
    main()
