"""The Git state of a work tree: the only package in cmf that talks to Git.

Two speeds, for two moments of an execution:

* :func:`read_head_commit` reads ``HEAD`` straight from the files of the Git
  directory (loose refs, ``packed-refs``, detached heads, linked work trees and
  submodules). No process, no GitPython: it costs microseconds, so it can run at
  the start and at the end of every execution.
* :func:`read_git_snapshot` captures the full state (remote, branch, commit,
  dirty flag and a digest of the uncommitted changes) by running ``git``
  through GitPython, which is imported inside the function because importing
  it takes tens of milliseconds that a plain ``import cmf_core`` must not pay.

Read only, always. cmf never changes the user's repository, and that includes
the stat cache in ``.git/index``, which ``git status``, ``git diff`` and
GitPython's ``Repo.is_dirty()`` all rewrite as a side effect when a file was
touched without being changed. So the snapshot runs ``git status`` with
``GIT_OPTIONAL_LOCKS=0`` (it then refreshes the index in memory only) and takes
the patch from the plumbing ``git diff-index``, which never writes the index.

Modules: :mod:`~cmf_core.git.head` (the work tree and its ``HEAD``, from files),
:mod:`~cmf_core.git.snapshot` (the full state, through GitPython) and
:mod:`~cmf_core.git.remote` (credentials stripped from remote URLs).
"""

from cmf_core.git.head import find_work_tree, read_head_commit
from cmf_core.git.remote import strip_credentials
from cmf_core.git.snapshot import read_git_snapshot

__all__ = ["find_work_tree", "read_git_snapshot", "read_head_commit", "strip_credentials"]
