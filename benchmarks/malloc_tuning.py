"""Process-level memory settings, kept for measurement only (bench_model.py --malloc-tuning)."""

from __future__ import annotations

import ctypes
import sys


def keep_freed_memory() -> bool:
    """Ask glibc malloc to reuse freed memory instead of mmap/munmap for big blocks.

    glibc serves blocks over 32 MiB with a fresh mmap and unmaps them on free, so every
    large activation is page-faulted and zeroed again each step. Disabling mmap and
    raising the trim threshold keeps freed memory for reuse. Training and inference no
    longer call it (measured on 2 cores, results/demo_small_cpu.md): the ``cpu_fast``
    model's activations are small enough that a training step is as fast without it
    (23.6 against 23.3 ms per clip), a demo process held 13 GB resident with it, and
    one-clip log-mel inference ran 8x slower with it (96 against 12 ms), every
    operation paying for a heap that never shrinks. Only the ``cpu`` preset's batch
    inference gained (21.1 -> 16.7 ms per clip).
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
