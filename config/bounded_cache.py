"""Django's local-memory cache, bounded by bytes as well as by entries.

MAX_ENTRIES alone let a worker's memory grow with the size of what it caches: 5,000
feeds of 0.4 MB are 2 GB. MAX_BYTES counts the pickled values; past it, the least
recently used entries go first (LocMemCache keeps the most recent at the front), and a
value larger than the whole budget is not stored.
"""

import pickle

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache

# Bytes held, per cache name, shared like LocMemCache's own stores by the instance
# each thread gets.
_sizes: dict[str, list[int]] = {}


class BoundedLocMemCache(LocMemCache):
    def __init__(self, name, params):
        super().__init__(name, params)
        self._max_bytes = int(params.get("OPTIONS", {}).get("MAX_BYTES", 64 << 20))
        self._size = _sizes.setdefault(name, [0])

    def _set(self, key, value, timeout=DEFAULT_TIMEOUT):
        self._delete(key)
        if len(value) > self._max_bytes:
            return
        while self._cache and self._size[0] + len(value) > self._max_bytes:
            self._evict()
        super()._set(key, value, timeout)
        self._size[0] += len(value)

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                raise ValueError(f"Key '{key}' not found")
            expires = self._expire_info[key]
            value = pickle.loads(self._cache[key]) + delta
            self._set(key, pickle.dumps(value, self.pickle_protocol))
            if key in self._cache:
                self._expire_info[key] = expires
        return value

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        # LocMemCache's add() says True for a value too large to be kept.
        return super().add(key, value, timeout, version) and self.has_key(key, version)

    def _evict(self) -> None:
        key, value = self._cache.popitem()
        del self._expire_info[key]
        self._size[0] -= len(value)

    def _cull(self):
        if self._cull_frequency == 0:
            self._cache.clear()
            self._expire_info.clear()
            self._size[0] = 0
        else:
            for _ in range(len(self._cache) // self._cull_frequency):
                self._evict()

    def _delete(self, key):
        value = self._cache.get(key)
        if not super()._delete(key):
            return False
        self._size[0] -= len(value)
        return True

    def clear(self):
        with self._lock:
            self._cache.clear()
            self._expire_info.clear()
            self._size[0] = 0

    @property
    def size(self) -> int:
        """The bytes of the values held."""
        return self._size[0]
