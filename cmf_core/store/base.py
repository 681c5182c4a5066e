"""``StoreBase``: the owner of a store's engine and its transactions.

``Store`` is assembled from this base and one piece per area (``writes``,
``stat_cache``, ``search``, ``graph``, ``history``, ``tokens``; see
:mod:`cmf_core.store.store`) so each area keeps its SQL in its own module; all
of them reach the database only through :meth:`_read` and :meth:`_write`.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError

from cmf_core.errors import ConflictError, InvalidInputError, Kind, StoreError
from cmf_core.redact import Redactor
from cmf_core.store.engine import build_engine, first_line, safe_url
from cmf_core.store.migrate import check_schema, prepare_schema

_calls = threading.local()  # per thread: how deep in store calls, and what waits for their end


def after_store_calls(callback: Callable[[], None]) -> None:
    """Call ``callback`` now, or, if this thread is inside a store call, once that call ends.

    A signal handler runs on the main thread between two bytecodes, possibly in the
    middle of a transaction that holds SQLite's write lock; writing from the handler
    then would wait on its own thread's lock. Deferring to the end of the call avoids that.
    """
    if getattr(_calls, "depth", 0):
        _calls.deferred = [*getattr(_calls, "deferred", []), callback]
    else:
        callback()


class StoreBase:
    """A cmf store at ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``).

    Opening a store creates it at the newest schema if it is empty and checks
    its schema revision otherwise (see :mod:`cmf_core.store.migrate`). With
    ``read_only`` nothing is created, upgraded or changed: the store must exist.

    Closing waits briefly for the calls in flight. A closed store opens new
    connections again if its owner reads or writes through it later, but the
    process's flush thread (:mod:`cmf_core.run_guard`) never does: it asks
    :meth:`unless_closed` first, so it cannot leave a connection nobody closes.
    """

    CLOSE_WAIT_S = 5.0  # how long close() waits for calls in flight before disposing anyway

    def __init__(
        self, url: str, *, read_only: bool = False, redactor: Redactor | None = None
    ) -> None:
        self.url = url
        self.read_only = read_only
        # What the writes pass commands, errors, params and properties through first.
        self.redactor = redactor or Redactor()
        self._engine = build_engine(url, read_only=read_only)
        try:
            (check_schema if read_only else prepare_schema)(self._engine, url)
        except BaseException:
            self._engine.dispose()
            raise
        self._insert = (
            postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        )
        self._in_use = 0
        self._closed = False
        self._use_state = threading.Condition()

    @property
    def display_url(self) -> str:
        return safe_url(self.url)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._use_state:
            self._closed = True
            self._use_state.wait_for(lambda: not self._in_use, timeout=self.CLOSE_WAIT_S)
        self._engine.dispose()

    @contextmanager
    def unless_closed(self) -> Iterator[bool]:
        """True, and holds off :meth:`close` until the block ends; False if already closed."""
        with self._use_state:
            is_open = not self._closed
            self._in_use += is_open
        if not is_open:
            yield False
            return
        try:
            yield True
        finally:
            with self._use_state:
                self._in_use -= 1
                self._use_state.notify_all()

    @contextmanager
    def _in_flight(self) -> Iterator[None]:
        with self._use_state:
            self._in_use += 1
        _calls.depth = getattr(_calls, "depth", 0) + 1
        try:
            yield
        finally:
            with self._use_state:
                self._in_use -= 1
                self._use_state.notify_all()
            _calls.depth -= 1
            if not _calls.depth:
                deferred, _calls.deferred = getattr(_calls, "deferred", []), []
                for callback in deferred:
                    callback()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self.read_only:
            raise StoreError(
                "The store {store} was opened read-only: nothing was written. Record with a "
                "store opened for writing.",
                kind=Kind.STORE,
                store=self.display_url,
            )
        try:
            with self._in_flight(), self._engine.connect() as conn:
                conn.execution_options(cmf_write=True)
                with conn.begin():
                    yield conn
        except IntegrityError as exc:
            raise ConflictError(
                f"The store refused a record that clashes with one already there: "
                f"{first_line(exc)}."
            ) from exc
        except SQLAlchemyError as exc:
            # A value the database refuses (DataError), or one that could not even be sent
            # (a StatementError that is not the driver's), fails the same way on a retry.
            if isinstance(exc, DataError) or (
                isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)
            ):
                raise InvalidInputError(
                    f"The store cannot hold a value of this call: {first_line(exc)}. Nothing "
                    "from this call was saved; change the value."
                ) from exc
            raise StoreError(
                f"Writing to the store {{store}} failed: {first_line(exc)}. "
                "Nothing from this call was saved; retry it.",
                kind=Kind.STORE,
                store=self.display_url,
            ) from exc
        except OverflowError as exc:  # SQLite's driver refuses an integer beyond 64 bits itself
            raise InvalidInputError(
                f"The store cannot hold a value of this call: {exc}. Nothing from this call "
                "was saved; change the value."
            ) from exc
        except UnicodeEncodeError as exc:  # a lone surrogate: a name that is not UTF-8
            raise InvalidInputError(
                f"The store cannot hold a text of this call that is not UTF-8 ({exc.object!r}). "
                "Nothing from this call was saved; change the value."
            ) from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._in_flight(), self._engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            if isinstance(exc, DataError) or (
                isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)
            ):  # a looked-up value the database refuses (NUL on PostgreSQL): nothing has it
                raise InvalidInputError(
                    f"The store cannot hold a value this lookup names: {first_line(exc)}. "
                    "Nothing recorded matches it; change the value."
                ) from exc
            raise StoreError(
                f"Reading the store {{store}} failed: {first_line(exc)}.",
                kind=Kind.STORE,
                store=self.display_url,
            ) from exc
        except (UnicodeEncodeError, OverflowError) as exc:  # not UTF-8, beyond 64 bits
            raise InvalidInputError(
                f"The store cannot hold a value this lookup names ({exc}). Nothing recorded "
                "matches it; change the value."
            ) from exc
