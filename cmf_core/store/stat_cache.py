"""The stat cache kept in a store: (path, inode, mtime_ns, size) → md5 per regular file.

This is :class:`cmf_core.hashing.StatCache` on a SQLite store (one machine's):
re-hashing a large unchanged directory reads its entries in one range scan and
no file. A team's PostgreSQL store keeps no shared stat cache (paths and inodes
of different machines may coincide); :class:`cmf_core.recorder.Recorder` uses
one in memory instead. Inodes are unsigned 64-bit numbers kept in a signed
BIGINT column. A path that is not valid UTF-8 (a file name in another encoding,
held as a surrogate-escaped ``str``) cannot be stored as text: it is neither
looked up nor remembered, so such a file is simply read every time.
"""

import os
from collections.abc import Sequence

from cmf_core.errors import InvalidInputError
from cmf_core.hashing import StatEntry
from cmf_core.store.base import StoreBase
from cmf_core.store.schema import stat_cache

STAT_CHUNK = 500


class StatCacheRecords(StoreBase):
    """The stat cache's two calls, mixed into :class:`cmf_core.store.Store`."""

    def get_stat_entries(self, paths: Sequence[str]) -> dict[str, StatEntry]:
        """Stat cache entries for ``paths``; a directory's files come back in one range scan.

        This is the hot path of re-hashing a large unchanged directory, so it reads
        through the driver's cursor: SQLAlchemy's row handling would triple its cost.
        """
        wanted = set(paths)
        if not wanted:
            return {}
        try:
            return self._get_stat_entries(wanted)
        except InvalidInputError as exc:  # a name in another encoding: look up the others only
            if not isinstance(exc.__cause__, UnicodeEncodeError):
                raise
            storable = {path for path in wanted if _is_storable(path)}
            return self._get_stat_entries(storable) if storable else {}

    def _get_stat_entries(self, wanted: set[str]) -> dict[str, StatEntry]:
        mark = "?" if self._engine.dialect.paramstyle == "qmark" else "%s"
        select_sql = "SELECT path, inode, mtime_ns, size, md5 FROM stat_cache WHERE "
        if len(wanted) > STAT_CHUNK:
            # Paths sort between the least and the greatest, so those two share the folder.
            folder = os.path.commonpath([min(wanted), max(wanted)]).rstrip("/")
            # Every path under folder/ sorts between "folder/" and "folder0" ("0" follows "/").
            batches = [
                (f"{select_sql}path > {mark} AND path < {mark}", [folder + "/", folder + "0"])
            ]
        else:
            ordered = sorted(wanted)
            marks = ", ".join([mark] * len(ordered))
            batches = [(f"{select_sql}path IN ({marks})", ordered)]
        found: dict[str, StatEntry] = {}
        with self._read() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                for sql, parameters in batches:
                    cursor.execute(sql, parameters)
                    for path, inode, mtime_ns, size, md5 in cursor.fetchall():
                        if path in wanted:
                            found[path] = StatEntry(path, _inode(inode), mtime_ns, size, md5)
            finally:
                cursor.close()
        return found

    def put_stat_entries(self, entries: Sequence[StatEntry]) -> None:
        try:
            self._put_stat_entries(entries)
        except InvalidInputError as exc:  # a name in another encoding: remember the others only
            if not isinstance(exc.__cause__, UnicodeEncodeError):
                raise
            self._put_stat_entries([entry for entry in entries if _is_storable(entry.path)])

    def _put_stat_entries(self, entries: Sequence[StatEntry]) -> None:
        if not entries:
            return
        values = [
            {
                "path": e.path,
                "inode": e.inode - 2**64 if e.inode >= 2**63 else e.inode,  # a signed BIGINT
                "mtime_ns": e.mtime_ns,
                "size": e.size,
                "md5": e.md5,
            }
            for e in entries
        ]
        statement = self._insert(stat_cache)
        statement = statement.on_conflict_do_update(
            index_elements=[stat_cache.c.path],
            set_={
                "inode": statement.excluded.inode,
                "mtime_ns": statement.excluded.mtime_ns,
                "size": statement.excluded.size,
                "md5": statement.excluded.md5,
            },
        )
        with self._write() as conn:
            conn.execute(statement, values)


def _is_storable(path: str) -> bool:
    """Whether ``path`` is valid UTF-8 text (no surrogate standing for an undecodable byte)."""
    try:
        path.encode()
    except UnicodeEncodeError:
        return False
    return True


def _inode(stored: int) -> int:
    """The inode number a signed BIGINT column holds (inodes are unsigned 64-bit)."""
    return stored + 2**64 if stored < 0 else stored
