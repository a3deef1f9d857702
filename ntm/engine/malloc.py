"""glibc malloc tuning for long engine loops.

Each durable state allocates ~12 KB per rule pattern in big blocks; by default glibc serves them with
mmap/munmap and trims the heap on free, so every fresh sid page-faults. Measured 1.8–2.7× faster batches.
"""

from __future__ import annotations

import ctypes
import ctypes.util


def tune() -> bool:
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024)
                    and libc.mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024)
                    and libc.mallopt(M_TOP_PAD, 64 * 1024 * 1024))
    except (OSError, AttributeError):
        return False
