"""``StoreBase``: the owner of a store's engine and its transactions.

``Store`` is assembled from this base and one piece per area (``writes``,
``stat_cache``, ``search``, ``graph``, ``history``, ``tokens``; see
:mod:`cmf_core.store.store`) so each area keeps its SQL in its own module; all
of them reach the database only through :meth:`_read` and :meth:`_write`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError

from cmf_core.errors import ConflictError, InvalidInputError, Kind, StoreError
from cmf_core.store.engine import build_engine, first_line, safe_url
from cmf_core.store.migrate import check_schema, prepare_schema


class StoreBase:
    """A cmf store at ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``).

    Opening a store creates it at the newest schema if it is empty and checks
    its schema revision otherwise (see :mod:`cmf_core.store.migrate`). With
    ``read_only`` nothing is created, upgraded or changed: the store must exist.
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self._engine = build_engine(url, read_only=read_only)
        try:
            (check_schema if read_only else prepare_schema)(self._engine, url)
        except BaseException:
            self._engine.dispose()
            raise
        self._insert = (
            postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        )

    @property
    def display_url(self) -> str:
        return safe_url(self.url)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def close(self) -> None:
        self._engine.dispose()

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
        try:
            with self._engine.connect() as conn:
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

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(
                f"Reading the store {{store}} failed: {first_line(exc)}.",
                kind=Kind.STORE,
                store=self.display_url,
            ) from exc
