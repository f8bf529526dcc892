"""Why centred (symmetric) nudging loses to positive nudging with binary spins: what each phase flips.

Trains the default positive-nudge network on MNIST-1k for a few epochs, then,
for the training examples it still gets wrong, runs the free phase and the
+nudge and -nudge phases exactly as an EqProp step does (balanced targets,
reverse anneals from the free state) and counts which spins each phase
changes:

- output spins changed by each phase, and how many of those changes are on
  outputs that were already right in the free state (no error to correct);
- hidden spins changed by each phase, beside the hidden spins that differ
  between two -nudge anneals with different seeds (pure sampling noise).

The README's "Which nudge" section quotes its output.

Example::

    python benchmarks/diagnose_symmetric.py --data-dir ../shared/datasets/mnist --epochs 3 20
"""

from __future__ import annotations

import argparse

import numpy as np

from eqising import EqPropClassifier, load_dataset
from eqising.eqprop import one_hot_spins
from eqising.seeding import derive_many
from eqising.solvers import AnnealSchedule


def nudged_phase(net, solver, fields, targets, start, nudge: float, name: str) -> np.ndarray:
    """One read per example of the nudged phase from ``start``, as an EqProp step runs it (shape (n, n_spins))."""
    batch = net.encode(fields, nudge=np.full(len(fields), nudge), targets=targets)
    return solver.sample(batch, num_reads=1, schedule=AnnealSchedule("reverse"), initial_states=start,
                         seed=derive_many(2, name, n=len(fields))).spins[:, 0]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default="../shared/datasets/mnist")
    p.add_argument("--epochs", nargs="+", type=int, default=[3, 20])
    p.add_argument("--examples", type=int, default=500, help="training examples probed")
    p.add_argument("--nudge", type=float, default=2.0)
    args = p.parse_args(argv)
    data = load_dataset("mnist", data_dir=args.data_dir, train_size=1000)
    print("| epochs | wrong examples | outputs changed: +nudge, -nudge | of the changes, on outputs already "
          "right: +nudge, -nudge | wrong outputs fixed by +nudge | hidden changed: +nudge, -nudge | hidden "
          "differing between two -nudge anneals |")
    print("|---|---|---|---|---|---|---|")
    for epochs in args.epochs:
        clf = EqPropClassifier(random_state=0, max_iter=epochs, **data.training_defaults)
        clf.fit(data.X_train, data.y_train)
        net, solver = clf.network_, clf.solver_
        X = data.X_train[: args.examples]
        n_classes = len(clf.classes_)
        targets = one_hot_spins(np.searchsorted(clf.classes_, data.y_train[: args.examples]), n_classes,
                                clf.replicas)
        balanced = np.where(targets > 0, 1.0, -1.0 / (n_classes - 1))  # as balanced_nudge=True
        fields = net.input_fields(X)
        free = solver.sample(net.encode(fields), num_reads=1, seed=derive_many(1, "free", n=len(X)))
        out, hidden = net.output_slice, slice(0, net.output_slice.start)
        wrong = np.flatnonzero(~(free.spins[:, 0, out] == targets).all(axis=1))

        f = free.spins[wrong, 0]
        plus, minus, minus_again = (
            nudged_phase(net, solver, fields[wrong], balanced[wrong], free.spins[wrong], nudge, name)
            for nudge, name in ((args.nudge, "a"), (-args.nudge, "a"), (-args.nudge, "b"))
        )
        right = f[:, out] == targets[wrong]
        changed_plus, changed_minus = plus[:, out] != f[:, out], minus[:, out] != f[:, out]
        on_right = [(c & right).sum() / max(c.sum(), 1) for c in (changed_plus, changed_minus)]
        fixed = (plus[:, out] == targets[wrong])[~right].mean()
        print(f"| {epochs} | {len(wrong)} of {len(X)} | {changed_plus.mean():.3f}, {changed_minus.mean():.3f} | "
              f"{on_right[0]:.3f}, {on_right[1]:.3f} | {fixed:.3f} | "
              f"{(plus[:, hidden] != f[:, hidden]).mean():.3f}, {(minus[:, hidden] != f[:, hidden]).mean():.3f} | "
              f"{(minus[:, hidden] != minus_again[:, hidden]).mean():.3f} |")


if __name__ == "__main__":
    main()
