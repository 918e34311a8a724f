"""A bounded, thread-safe least-recently-used mapping (the in-memory caches of traces and
compiled programs; their limits are `config` options)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any
from collections.abc import Callable


class LRU:
    """At most `limit()` entries; `get` refreshes an entry, `put` drops the least recently
    used ones beyond the limit (read at each `put`, so a config change applies at once)."""

    def __init__(self, limit: Callable[[], int],
                 on_evict: Callable[[Any], None] | None = None):
        self._data: OrderedDict = OrderedDict()
        self._limit = limit
        self._on_evict = on_evict
        self._lock = threading.Lock()
        self.evictions = 0

    def get(self, key, default=None):
        with self._lock:
            try:
                self._data.move_to_end(key)
            except KeyError:
                return default
            return self._data[key]

    def put(self, key, value: Any) -> None:
        dropped = []
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            limit = self._limit()
            while len(self._data) > limit:
                dropped.append(self._data.popitem(last=False)[1])
                self.evictions += 1
        if self._on_evict is not None:
            for v in dropped:
                self._on_evict(v)

    def pop(self, key, default=None):
        with self._lock:
            return self._data.pop(key, default)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def values(self) -> list:
        with self._lock:
            return list(self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key) -> bool:
        return key in self._data
