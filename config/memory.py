"""Give the memory of large allocations back to the system when they are freed."""

import ctypes

M_MMAP_THRESHOLD = -3
LARGE_ALLOCATION = 4 * 1024 * 1024


def return_large_allocations() -> bool:
    """Have glibc's malloc serve every allocation of 4 MiB or more with its own
    mapping, unmapped as soon as it is freed. By default glibc raises that threshold
    each time such a block is freed (up to 32 MiB), after which Pillow's 16 MiB image
    blocks come from the heap, where freed memory stays with the process: a worker
    that had re-encoded two 40 Mpx uploads at once kept 408 MB, then 68 with this.
    False where the C library has no mallopt (musl, macOS)."""
    try:
        # The process's own symbols, libc's among them.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return mallopt(M_MMAP_THRESHOLD, LARGE_ALLOCATION) == 1
