"""Keep the process's resident memory at its live size while the C engine trains.

glibc's malloc raises its mmap threshold each time a large block is freed, so
later large numpy arrays come from the heap, and freeing them does not return
the pages to the OS. Training frees and allocates a few MiB per segment and
per job, so without a fixed threshold RSS creeps up while live memory stays
flat. A fixed threshold keeps large blocks mmapped and returns them when freed.
The numpy engine does not use it: it allocates MiB-sized scratch arrays every
step, and mapping and unmapping each of them costs more than the memory saved
(figures in docs/benchmarks.md).

With large blocks mmapped, each new array's first touch faults its pages in
one 4 KiB page at a time, a thousand faults for 4 MiB. `huge_empty` gives the
job stream's per-segment arrays 2 MiB pages instead.

Left out: other allocators (macOS, musl), where `return_freed_memory` does nothing.
"""

from __future__ import annotations

import ctypes

import numpy as np

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
THRESHOLD = 128 * 1024  # glibc's own default, made fixed
HUGE_BYTES = 4 << 20  # numpy advises transparent huge pages (madvise) for allocations of 4 MiB and more
HUGE_PAGE = 2 << 20  # x86-64's transparent huge page
PAD_FROM = 1 << 20  # smaller arrays are left as they are: their faults cost little


def return_freed_memory() -> bool:
    """Give the heap's free memory back to the OS and fix glibc's mmap threshold; True when it took effect.

    Called once the vocabulary pass is done: its per-block buffers came from
    the heap under the dynamic threshold, without a fault each time.
    Example: `return_freed_memory()` -> True on Linux with glibc, False elsewhere.
    """
    try:
        libc = ctypes.CDLL(None)  # the C library already loaded in this process
        libc.malloc_trim(0)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD))
    except (OSError, AttributeError, TypeError):
        return False


def huge_empty(n: int, dtype) -> np.ndarray:
    """An uninitialised (n,) array that the kernel backs with 2 MiB pages where it can.

    numpy advises huge pages for allocations of 4 MiB and more, but a huge page
    serves only a whole aligned 2 MiB of the advised range, so an array at the
    start of its allocation faults its first 2 MiB in 4 KiB pages. Arrays of
    1 MiB and more are therefore cut from an allocation of at least 4 MiB plus
    2 MiB, starting at its first 2 MiB boundary; the untouched rest costs
    address space, not memory. Smaller arrays, and where huge pages are off: np.empty.
    Example: huge_empty(300_000, np.int32) -> 300,000 int32 starting on a 2 MiB boundary.
    """
    dtype = np.dtype(dtype)
    size = n * dtype.itemsize
    if size < PAD_FROM:
        return np.empty(n, dtype)
    block = np.empty(max(size, HUGE_BYTES) + HUGE_PAGE, np.uint8)
    start = -block.ctypes.data % HUGE_PAGE
    return block[start : start + size].view(dtype)
