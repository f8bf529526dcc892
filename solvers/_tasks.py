"""Tasks handed out one at a time inside a compiled parallel region.

numba splits a ``prange`` loop into one contiguous block of iterations per
thread, whatever ``numba.set_parallel_chunksize`` says, on its OpenMP and
``workqueue`` layers (measured: a long first iteration kept the other thread
waiting for its own half). That is right for many equal
chains, but a training step's examples are unequal (only those the network
still gets wrong have nudged work), and a static split of 32 examples over 2
threads left one thread waiting 5-7% of the step. A kernel that wants the
examples handed out as threads come free runs ``prange`` over its workers and
lets each one take the next example from a shared counter::

    counter = np.zeros(1, dtype=np.int64)
    for _ in numba.prange(n_workers):
        while True:
            e = next_task(counter)
            if e >= n:
                break
            ...  # example e: writes only its own rows

Which thread runs which example then changes from run to run, so an example's
work must not depend on it (each chain has its own random stream).
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["next_task"]


@intrinsic
def next_task(typingctx, counter):
    """``counter[0]``, incremented by one atomically: the next task's index (call from compiled code).

    ``counter`` is an int64 array; every caller gets a different value.
    """
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None
    sig = types.int64(counter)

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        first = cgutils.get_item_pointer(context, builder, signature.args[0], array,
                                         [context.get_constant(types.intp, 0)])
        # only the count needs to be atomic: the tasks write disjoint memory, and the region's end is a barrier
        return builder.atomic_rmw("add", first, context.get_constant(types.int64, 1), "monotonic")

    return sig, codegen
