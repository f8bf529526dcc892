"""A save is one unit: a fault or a kill at any step leaves the old model or the new one, loadable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from eqising import EqPropClassifier, load_dataset, load_model, save_model
from eqising._files import FolderBusyError

CHEAP = {"hidden_layer_sizes": (8,), "max_iter": 1, "batch_size": 50, "solver_params": {"num_sweeps": 8}}
#: Every file-system call a save makes goes through these.
FS_CALLS = ("open", "write", "fsync", "close", "replace", "unlink")


@pytest.fixture(scope="module")
def models():
    data = load_dataset("digits", train_size=100, test_size=20)
    old = EqPropClassifier(**CHEAP, random_state=1).fit(data.X_train, data.y_train)
    new = EqPropClassifier(**CHEAP, random_state=2).fit(data.X_train, data.y_train)
    return old, new


def _which(folder, old, new) -> str:
    """'old' or 'new': the model the folder loads as (a failure to load fails the test)."""
    loaded = load_model(folder)
    for name, ref in (("old", old), ("new", new)):
        if all(np.array_equal(a, b) for a, b in zip(loaded.network_.weights, ref.network_.weights)):
            return name
    raise AssertionError("the folder loads as neither the old model nor the new one")


class _Faults:
    """Counts the save's file-system calls; from call ``at`` on, raises (once, or on every later call: a kill)."""

    def __init__(self, monkeypatch, at: int | None, *, dead_after: bool) -> None:
        self.n, self.at, self.dead_after = 0, at, dead_after
        for name in FS_CALLS:
            monkeypatch.setattr(os, name, self._wrap(getattr(os, name), name))

    def _wrap(self, real, name):
        def call(*args, **kwargs):
            k = self.n
            self.n += 1
            if self.at is not None and (k == self.at or (self.dead_after and k > self.at)):
                raise OSError(f"injected fault at call {k} (os.{name})")
            return real(*args, **kwargs)

        return call


def _count_calls(models, tmp_path, monkeypatch) -> int:
    old, new = models
    save_model(old, tmp_path / "count")
    with monkeypatch.context() as m:
        faults = _Faults(m, None, dead_after=False)
        save_model(new, tmp_path / "count")
    return faults.n


@pytest.mark.parametrize("dead_after", [False, True], ids=["one-fault", "killed"])
def test_fault_at_every_step_of_a_save(models, tmp_path, monkeypatch, dead_after):
    old, new = models
    total = _count_calls(models, tmp_path, monkeypatch)
    assert total >= 10  # open/write/fsync/close/replace of two files, and the folder syncs
    seen = set()
    for at in range(total):
        folder = tmp_path / f"m{at}"
        save_model(old, folder)
        with monkeypatch.context() as m:
            _Faults(m, at, dead_after=dead_after)
            try:
                save_model(new, folder)
            except OSError:
                pass
        seen.add(_which(folder, old, new))
        save_model(new, folder)  # the next save cleans up whatever the stopped one left
        assert sorted(os.listdir(folder)) == ["model.json", "model.npz"]
        assert _which(folder, old, new) == "new"
    assert seen == {"old", "new"}  # the commit point lies inside the save: both outcomes occur


def test_folder_left_between_commit_and_last_rename_loads_the_new_model(models, tmp_path):
    """A kill after model.json is replaced and before model.npz.next is renamed: the loader follows the journal."""
    old, new = models
    save_model(old, tmp_path / "a")
    save_model(new, tmp_path / "b")
    (tmp_path / "a" / "model.npz.next").write_bytes((tmp_path / "b" / "model.npz").read_bytes())
    (tmp_path / "a" / "model.json").write_bytes((tmp_path / "b" / "model.json").read_bytes())
    assert _which(tmp_path / "a", old, new) == "new"


_SAVER = """
import sys
from eqising import load_model, save_model
models, target = [load_model(p) for p in sys.argv[1:3]], sys.argv[3]
print("ready", flush=True)
while True:
    for model in models:
        save_model(model, target)
"""


def test_sigkill_during_saves_never_leaves_an_unloadable_folder(models, tmp_path):
    old, new = models
    save_model(old, tmp_path / "old")
    save_model(new, tmp_path / "new")
    target = tmp_path / "target"
    save_model(old, target)
    rng = np.random.default_rng(0)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(tmp_path / "old"), str(tmp_path / "new"),
                                 str(target)], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(float(rng.uniform(0.05, 0.4)))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert _which(target, old, new) in {"old", "new"}


def test_second_writer_is_refused(models, tmp_path):
    old, _ = models
    save_model(old, tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom eqising._files import folder_lock\nwith folder_lock(sys.argv[1], 'test'):\n"
         "    print('locked', flush=True)\n    time.sleep(60)\n", str(tmp_path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(FolderBusyError, match=r"is being written by another process"):
            save_model(old, tmp_path)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    save_model(old, tmp_path)  # the lock went with the process


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_files_follow_the_umask(models, tmp_path, umask):
    old, _ = models
    previous = os.umask(umask)
    try:
        save_model(old, tmp_path)
    finally:
        os.umask(previous)
    for name in ("model.json", "model.npz"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
