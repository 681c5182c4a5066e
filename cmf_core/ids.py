"""Execution ids: UUID version 7 (RFC 9562), time-ordered so new rows append to indexes."""

import os
import threading
import time
import uuid


class Uuid7Generator:
    """Makes UUID v7 strings, strictly increasing within one generator (48-bit ms + 74 random bits).

    Within one millisecond the 12-bit ``rand_a`` field is used as a counter
    (RFC 9562, method 1), so ids made in a tight loop still sort in creation order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def new(self) -> str:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms > self._last_ms:
                self._last_ms = ms
                self._counter = int.from_bytes(os.urandom(2)) & 0x3FF  # leave room to count
            else:
                self._counter += 1
                if self._counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                    self._last_ms += 1
                    self._counter = 0
            ms, counter = self._last_ms, self._counter
        rand_b = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
        return str(uuid.UUID(int=value))
