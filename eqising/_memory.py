"""Memory estimates checked before a large allocation, refused with the estimate and the limit."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ._validation import param_error

__all__ = ["available_memory", "check_fits", "format_bytes", "training_bytes"]


def available_memory() -> int | None:
    """Bytes of memory this machine can still hand out, or None where it cannot be told.

    ``MemAvailable`` of ``/proc/meminfo`` on Linux (free memory plus what the
    kernel can reclaim), else ``os.sysconf`` free pages times the page size.
    """
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover (no sysconf)
        return None


def format_bytes(n: float) -> str:
    """``n`` bytes for people, e.g. ``'3.2 GiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def check_fits(n_bytes: float, name: str, owner: str, value: object, what: str, *, limit: int | None = None,
               limit_text: str = "is available", kind: str = "parameter") -> None:
    """Refuse, before allocating, a ``value`` of parameter ``name`` whose ``what`` needs more than the limit.

    The limit is ``limit`` if given (described by ``limit_text``), else
    :func:`available_memory` (no check where that cannot be told).

    Raises
    ------
    InvalidParameterError
        Naming the parameter, the estimate and the limit.
    """
    if limit is None:
        limit = available_memory()
    if limit is not None and n_bytes > limit:
        error = param_error(
            name, owner,
            f"a value whose {what} fits in memory (it needs about {format_bytes(n_bytes)}; "
            f"{format_bytes(limit)} {limit_text})", value,
        )
        if kind != "parameter":  # e.g. a CLI option
            error = type(error)(str(error).replace(" parameter of ", f" {kind} of ", 1))
        raise error


def training_bytes(layer_sizes: Sequence[int], batch_size: int, phase_reads: int) -> int:
    """Estimated peak bytes of a float training run for ``layer_sizes = (n_in, n_1, ..., n_out)``.

    Per parameter (float64): the network's copy, the backend's copy, the
    effective weights read back, a gradient, a delta and two optimizer
    moments (7 x 8 bytes); per minibatch: the spins and local fields of the
    free and nudged phases of every read, and the float32 couplings the
    kernel reads.
    """
    sizes = [int(n) for n in layer_sizes]
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    n_spins = sum(sizes[1:])
    chains = int(batch_size) * int(phase_reads) * 3
    return 7 * 8 * n_params + chains * n_spins * (1 + 4 + 4) + 2 * 4 * n_params
