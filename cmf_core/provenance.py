"""Git and environment capture for the executions one ``Cmf`` records.

At each execution's start and end the HEAD commit is read straight from
``.git`` (microseconds). The full snapshot — remote, branch, dirty flag, diff
digest — costs a ``git`` call, so it is reused while HEAD has not moved and
the snapshot is younger than ``git_refresh_s``. The environment is captured
once per ``Provenance`` and recorded as an ``environment`` artifact, so
identical environments are one record.
"""

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cmf_core.errors import GitError, warn_user
from cmf_core.records import ArtifactType, GitSnapshot

if TYPE_CHECKING:
    from cmf_core.store import Store


class Provenance:
    """Git and environment capture for one ``Cmf`` (see the module docstring)."""

    def __init__(self, root: Path, *, git: bool, environment: bool, git_refresh_s: float) -> None:
        self._root = root
        self._use_git = git
        self._use_environment = environment
        self._refresh_s = git_refresh_s
        self._lock = threading.Lock()
        self._work_tree: Path | None = None
        self._looked_for_git = False
        self._snapshot: GitSnapshot | None = None
        self._snapshot_at = 0.0
        self._environment_digest: str | None = None
        self._git_failed = False

    def work_tree(self) -> Path | None:
        if not self._looked_for_git:
            from cmf_core.git import find_work_tree

            self._work_tree = find_work_tree(self._root) if self._use_git else None
            self._looked_for_git = True
            if self._use_git and self._work_tree is None:
                warn_user(
                    f"{self._root} is not in a Git repository: executions are recorded without "
                    "code version. Run `git init` and commit your code to record it."
                )
        return self._work_tree

    def git_start(self) -> GitSnapshot | None:
        tree = self.work_tree()
        if tree is None:
            return None
        from cmf_core.git import read_git_snapshot, read_head_commit

        with self._lock:
            try:
                head = read_head_commit(tree)
            except GitError as exc:
                self._warn_git(exc)
                return None
            fresh = time.monotonic() - self._snapshot_at < self._refresh_s
            if self._snapshot is None or self._snapshot.commit != head or not fresh:
                try:
                    self._snapshot = read_git_snapshot(tree)
                except GitError as exc:
                    # No git program (a container with .git copied in), …: record the
                    # commit read from the files; never fail the run for it.
                    self._warn_git(exc)
                    self._snapshot = GitSnapshot(
                        remote_url=None, branch=None, commit=head, is_dirty=None, diff_digest=None
                    )
                self._snapshot_at = time.monotonic()
            return self._snapshot

    def head_commit(self) -> str | None:
        tree = self.work_tree()
        if tree is None:
            return None
        from cmf_core.git import read_head_commit

        try:
            return read_head_commit(tree)
        except GitError as exc:
            self._warn_git(exc)
            return None

    def _warn_git(self, exc: GitError) -> None:
        if not self._git_failed:
            self._git_failed = True
            warn_user(f"{exc} Executions are recorded with what Git state could be read.")

    def environment_digest(self, store: "Store") -> str | None:
        if not self._use_environment:
            return None
        with self._lock:
            if self._environment_digest is None:
                from cmf_core.environment import capture_environment
                from cmf_core.store import ArtifactRow

                info = capture_environment()
                store.record_artifact(
                    ArtifactRow(
                        digest=info.digest,
                        type=ArtifactType.ENVIRONMENT.value,
                        size=None,
                        nfiles=None,
                        properties=info.document,
                    )
                )
                self._environment_digest = info.digest
            return self._environment_digest
