"""Keep freed memory in the process (glibc), so big tensors are not page-faulted in over and over.

By default glibc serves every block above its mmap threshold (dynamic, 128 KiB rising to at most
32 MiB) with a fresh ``mmap`` and unmaps it on ``free``, and trims the top of the heap back to the
kernel. A restore allocates and frees tile activations and whole-image buffers of tens of MB again and
again, so each is faulted in anew: system time was a third of a 12 MP run on our 2-core VM. Serving
blocks below 1 GiB from the heap and never trimming lets freed blocks be reused. Measured with the
default model on a 12 MP JPEG, three runs each: 18.6 → 16.1 s median end to end, system time 6.2 → 2.8 s,
peak RSS 1.45 → 1.68 GB (``scripts/memory_24mp.py --size 4000x3000``; see CHANGELOG).
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30
NEVER_TRIM = 2**31 - 1  # mallopt takes an int


def keep_freed_memory() -> bool:
    """Apply the settings; False where they do not apply (not glibc) or glibc refused them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, NEVER_TRIM) == 1


def pause_gc() -> None:
    """Start-up of a photo command: no cyclic garbage collection while torch imports and the model
    loads. Importing torch creates ~10^6 objects and with them full collections that free nothing:
    0.13 s on the critical path of a 12 MP photo (measured with gc.callbacks). ``resume_gc`` ends it."""
    gc.disable()


def resume_gc() -> None:
    """Move everything alive now (modules, the model) out of the collector's sight, then collect as
    usual: later full collections only walk objects made while photos are processed."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
