"""What the MCP tools share: server state, error translation, the write check, the heartbeat.

:class:`ServerState` holds the settings, the store and one ``Cmf``, opened on
first use so the server starts fast. :func:`tool_errors` turns every
``CmfError`` into a ``ToolError`` the model can act on, with no path outside
the project and no store URL in it (:mod:`cmf_mcp.mcp.errors`).
:func:`with_heartbeat` runs slow work in a thread while reporting progress.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote

import anyio
import anyio.to_thread
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from cmf_core.errors import CmfError
from cmf_mcp.mcp.errors import model_message

if TYPE_CHECKING:
    from cmf_core.config import Settings
    from cmf_core.store import Store
    from cmf_core.tracking import Cmf

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# Recording adds to the store and never removes: not destructive, not open-world.
RECORD = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
RECORD_IDEMPOTENT = RECORD.model_copy(update={"idempotent_hint": True})
HEARTBEAT_S = 0.5
T = TypeVar("T")


class ServerState:
    """Settings, the store and one ``Cmf`` shared by the tools; the store opens on first use."""

    def __init__(
        self,
        settings: "Settings",
        *,
        read_only: bool = False,
        capture_git: bool = True,
        capture_environment: bool = True,
        trust_client_roots: bool = True,
    ) -> None:
        self.settings = settings
        self.project_root = settings.project_root
        self.read_only = read_only
        self.capture_git = capture_git
        self.capture_environment = capture_environment
        self.trust_client_roots = trust_client_roots
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._cmf: Cmf | None = None

    @property
    def store(self) -> "Store":
        with self._lock:
            if self._store is None:
                from cmf_core.config import prepare_default_store
                from cmf_core.redact import Redactor
                from cmf_core.store import Store

                if self.read_only:
                    self._check_store_exists()
                else:
                    prepare_default_store(self.settings)
                self._store = Store(
                    self.settings.store_url,
                    read_only=self.read_only,
                    redactor=Redactor.from_settings(self.settings),
                )
            return self._store

    def _check_store_exists(self) -> None:
        """A read-only server creates nothing: without a SQLite store file, there is no store."""
        from cmf_core.errors import NotFoundError
        from cmf_mcp.mcp.where import ELSEWHERE, mlmd_note, store_name

        url = self.settings.store_url
        if not url.startswith("sqlite:///") or url.endswith(":memory:"):
            return
        location = unquote(url[len("sqlite:///") :].split("?")[0])
        if location and not Path(location).exists():
            raise NotFoundError(
                f"No store yet at {store_name(url, self.project_root)}: nothing has been "
                "recorded in this project, and this read-only server creates nothing. Record "
                "runs first (a server without --read-only, or the cmf Python API), then ask "
                f"again; {ELSEWHERE}. {mlmd_note(self.project_root)}".strip()
            )

    @property
    def cmf(self) -> "Cmf":
        store = self.store
        with self._lock:
            if self._cmf is None:
                from cmf_core.git import find_work_tree
                from cmf_core.tracking import Cmf

                git = self.capture_git and find_work_tree(self.project_root) is not None
                if self.capture_git and not git:
                    self.notes.append(
                        "The project is not in a Git repository, so runs are recorded without "
                        "their code version; `git init` and a commit would record it."
                    )
                self._cmf = Cmf(
                    store=store,
                    project_root=self.project_root,
                    site=self.settings.site,
                    capture_git=git,
                    capture_environment=self.capture_environment,
                )
            return self._cmf

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store, self._cmf = None, None

    def describe(self, exc: CmfError, hint: str = "") -> str:
        """What the model reads for ``exc`` (see :mod:`cmf_mcp.mcp.errors`)."""
        return model_message(exc, self.project_root, hint)


@contextmanager
def tool_errors(state: ServerState, hint: str = "") -> Iterator[None]:
    """Raise every ``CmfError`` as a ``ToolError`` the model can act on.

    ``hint`` is the tool's own next step, used when the error's fields suggest none.
    """
    try:
        yield
    except CmfError as exc:
        raise ToolError(state.describe(exc, hint)) from None


def require_write() -> None:
    """Refuse a recording call made with a read-only bearer token (HTTP only)."""
    token = get_access_token()
    if token is not None and "write" not in token.scopes:
        raise ToolError(
            f"Token {token.client_id!r} may only read; recording runs needs a token with scope "
            "'write' (`cmf token create --name NAME --scope write`)."
        )


async def with_heartbeat(
    ctx: Context, work: Callable[[], T], message: str, *, stop: threading.Event | None = None
) -> T:
    """Run ``work`` in a thread, sending a progress notification every half second meanwhile.

    Should the request be cancelled (or its client go away) first, ``stop`` is set, so
    work that looks at it (the hasher does, between blocks) ends early; the cancellation
    then goes on once the thread has returned.
    """
    done = anyio.Event()
    outcome: list[T] = []

    async def beat() -> None:
        elapsed = 0.0
        while not done.is_set():
            with anyio.move_on_after(HEARTBEAT_S):
                await done.wait()
            if not done.is_set():
                elapsed += HEARTBEAT_S
                await ctx.report_progress(elapsed, None, f"{message}: {elapsed:.1f} s")

    async def run() -> None:
        try:
            outcome.append(await anyio.to_thread.run_sync(work))
        finally:
            done.set()

    async def watch() -> None:
        try:
            await done.wait()
        finally:
            if stop is not None and not done.is_set():  # cancelled while the work runs
                stop.set()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(beat)
            group.start_soon(watch)
            group.start_soon(run)
    except ExceptionGroup as group_error:  # one task failed: raise its error unwrapped
        raise group_error.exceptions[0] from None
    return outcome[0]
