"""Running a comparison's runs: in this process, on joblib worker processes, or on a dask cluster.

Each run is one task. Finished runs are cached by the parent process as they
arrive (workers need not share its file system); a run that fails is
recorded with its error and the others go on; a progress bar counts runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from .._validation import param_error
from ..datasets import Dataset
from .cache import RunCache
from .run import RunSpec, _failed, execute
from .targets import OWNER

__all__ = ["LOCAL", "run_all"]

#: ``scheduler=`` value that starts (and stops) a ``dask.distributed.LocalCluster`` on this machine.
LOCAL = "local"


def _threads_per_run(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _serial(pending: Sequence[RunSpec], data: Dataset) -> Iterator[dict[str, Any]]:
    for spec in pending:
        yield execute(spec, data)


def _joblib(pending: Sequence[RunSpec], data: Dataset, jobs: int) -> Iterator[dict[str, Any]]:
    from joblib import Parallel, delayed

    threads = _threads_per_run(jobs)
    parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(execute)(spec, data, threads) for spec in pending)


@contextlib.contextmanager
def dask_client(scheduler: str, workers: int):
    """A ``dask.distributed.Client`` to ``scheduler``, or to a LocalCluster of ``workers`` processes.

    ``scheduler='local'`` starts a cluster of worker processes on the
    loopback interface (one thread each, no dashboard) and stops it on exit;
    any other value is the address of a running scheduler.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise param_error("scheduler", OWNER, "usable once dask.distributed is installed "
                          "(pip install 'eqising[cluster]')", scheduler) from exc
    if scheduler == LOCAL:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
    else:
        with Client(scheduler, timeout="30s") as client:
            yield client


def _dask(pending: Sequence[RunSpec], data: Dataset, client: Any, threads: int | None) -> Iterator[dict[str, Any]]:
    from distributed import as_completed

    shared = client.scatter(data, broadcast=True)
    futures = {client.submit(execute, spec, shared, threads, pure=False): spec for spec in pending}
    try:
        for future in as_completed(futures):
            spec = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # the task itself was lost (a worker died), not the run's own error
                yield _failed(spec, f"{type(exc).__name__}: {exc} (the task did not complete)")
    finally:
        client.cancel(list(futures))


def run_all(
    specs: Sequence[RunSpec],
    data: Dataset,
    cache: RunCache | None,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], int]:
    """Every run's row, from the cache or computed; and how many runs were computed.

    Parameters
    ----------
    specs : sequence of RunSpec
    data : Dataset
    cache : RunCache or None
        Finished runs are read from and written to it as they arrive.
    jobs : int, default=1
        Runs at a time: ``1`` in this process, more on joblib worker
        processes; with ``scheduler='local'``, the cluster's worker processes.
    scheduler : str or None
        ``'local'`` or the address of a dask scheduler; None runs locally.
    progress : bool, default=True
        Show a progress bar over runs on stderr.

    Returns
    -------
    rows : list of dict
        In the order of ``specs``.
    executed : int
        Runs computed by this call (not read from the cache).
    """
    from tqdm.auto import tqdm

    rows: dict[str, dict[str, Any]] = {}
    for spec in specs:
        row = cache.get(spec.key) if cache is not None else None
        if row is not None:
            rows[spec.key] = row
    pending = [s for s in specs if s.key not in rows]
    bar = tqdm(total=len(specs), initial=len(rows), desc="compare", unit="run", file=sys.stderr,
               disable=not progress)
    executed = 0
    try:
        with contextlib.ExitStack() as stack:
            if not pending:
                results: Iterator[dict[str, Any]] = iter(())
            elif scheduler is not None:
                client = stack.enter_context(dask_client(scheduler, jobs))
                threads = _threads_per_run(jobs) if scheduler == LOCAL else None
                results = _dask(pending, data, client, threads)
            elif jobs > 1:
                results = _joblib(pending, data, jobs)
            else:
                results = _serial(pending, data)
            for row in results:
                executed += 1
                rows[row["key"]] = row
                if cache is not None and row["status"] == "ok":
                    cache.put(row)
                bar.set_postfix_str(f"{row['target']} seed {row['seed']}: {row['status']}")
                bar.update(1)
    finally:
        bar.close()
    return [rows[s.key] for s in specs], executed
