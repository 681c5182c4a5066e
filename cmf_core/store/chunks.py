"""Ids in bounded batches: one ``IN (…)`` binds at most :data:`CHUNK` values, well under
SQLite's and psycopg's limits on parameters, so a read of any number of ids is a fixed
number of queries per batch."""

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
CHUNK = 5000  # ids bound in one IN (…)


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
