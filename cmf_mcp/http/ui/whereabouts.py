"""Where an artifact's bytes are, for its page: the workspace, the cache and the remotes.

The pages import this module (and so the artifact modules) on the first artifact page, not
with the app.
"""

from pathlib import Path

from cmf_core.artifacts.cache import Cache
from cmf_core.artifacts.remote_store import RemoteStore
from cmf_core.artifacts.remotes import list_remotes
from cmf_core.artifacts.status import artifact_status
from cmf_core.errors import CmfError
from cmf_core.store import Store


def whereabouts(
    store: Store, root: Path, digest: str, ids: list[str], *, every_remote: bool
) -> tuple[object, list[str], str | None]:
    """Workspace, cache and remote state of the artifact's bytes, the remotes not asked,
    and why a remote could not be asked. Asked by ``cmf ui`` only: a team server has no
    workspace of its users.

    Folder remotes are asked on every view (a ``stat`` per object); a network remote
    (s3://, ssh://, …) only when the user asks for it, since that is a round trip per
    page view, and one that fails leaves the rest of the answer standing.
    """
    if not ids:
        return None, [], None

    def status(remotes: list[RemoteStore]) -> object:
        rows = artifact_status(
            store,
            Cache.for_project(root),
            root,
            remotes=remotes,
            executions=ids[:100],
            stat_cache=store if store.dialect == "sqlite" else None,
        )
        return next((row for row in rows if row.digest == digest), None)

    try:
        known, _ = list_remotes(root)
        local = [RemoteStore(r) for r in known if r.is_local]
        if not every_remote:
            return status(local), [r.name for r in known if not r.is_local], None
        try:
            return status([RemoteStore(r) for r in known]), [], None
        except CmfError as exc:  # a network remote that cannot be reached
            return status(local), [r.name for r in known if not r.is_local], str(exc)
    except CmfError:
        return None, [], None
