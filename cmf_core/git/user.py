"""Who is recording: the Git ``user.name`` of a work tree (or the global one), if any.

One ``git config`` process, run only when a caller asks (an annotation without an
author); a missing ``git`` program or no configured name is an answer of None.
"""

import os
import subprocess
from pathlib import Path

from cmf_core.git.head import READ_ONLY_ENV

TIMEOUT_S = 5.0


def read_user_name(work_tree: Path | None = None) -> str | None:
    """``git config user.name`` as seen from ``work_tree`` (global config when None)."""
    try:
        result = subprocess.run(
            ["git", "config", "--get", "user.name"],
            cwd=work_tree,
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT_S,
            env={**os.environ, **READ_ONLY_ENV},
        )
    except (OSError, subprocess.TimeoutExpired, UnicodeDecodeError):
        return None
    name = result.stdout.strip() if result.returncode == 0 else ""
    return name or None
