"""Process-level speed settings shared by training, inference and benchmarks."""

from __future__ import annotations

import ctypes
import sys


def keep_freed_memory() -> bool:
    """Ask glibc malloc to reuse freed memory instead of mmap/munmap for big blocks.

    glibc serves blocks over 32 MiB with a fresh mmap each time and unmaps them on free,
    so every large activation (the first CNN block at batch 32 is about 65 MB) is
    page-faulted and zeroed by the kernel again, every step. With mmap disabled and
    trimming raised, freed memory is reused: on the 2-core machine a CPU training step
    went from 1.32 s to 1.19 s, and inference from 687x to 1,025x real time.
    Returns False where it does not apply (not Linux/glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))
