"""Keep the process's resident memory at its live size while the C engine trains.

glibc's malloc raises its mmap threshold each time a large block is freed, so
later large numpy arrays come from the heap, and freeing them does not return
the pages to the OS. Training frees and allocates a few MiB per segment and
per job, so without a fixed threshold RSS creeps up while live memory stays
flat. A fixed threshold keeps large blocks mmapped and returns them when freed.
The numpy engine does not use it: it allocates MiB-sized scratch arrays every
step, and mapping and unmapping each of them costs more than the memory saved
(figures in docs/benchmarks.md). Left out: other allocators (macOS, musl),
where `return_freed_memory` does nothing.
"""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
THRESHOLD = 128 * 1024  # glibc's own default, made fixed


def return_freed_memory() -> bool:
    """Fix glibc's mmap threshold; True when it took effect (glibc only).

    Example: `return_freed_memory()` -> True on Linux with glibc, False elsewhere.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library already loaded in this process
        return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD))
    except (OSError, AttributeError, TypeError):
        return False
