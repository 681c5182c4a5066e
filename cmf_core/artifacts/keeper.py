"""What logging does with an artifact's bytes once they are hashed: keep them.

:class:`ArtifactKeeper` is the one hook between recording and the content
store. ``Run.log_artifact`` hashes the path, hands it here, then records the
event: the bytes go into the cache first (so a file that changed after it was
hashed is refused before anything is recorded) and, with ``track_with_dvc``,
a ``.dvc`` file is written beside them.

What is kept by default, and why (``cache_inputs`` / ``cache_outputs`` in
:class:`~cmf_core.config.Settings`):

- **outputs: yes** — the run just wrote them and the next run will overwrite
  them; these bytes exist nowhere else, and without them a model cannot be
  pushed, pulled or reproduced from.
- **inputs: yes** — an input made by an earlier stage is already in the cache
  (keeping it costs a stat); a raw source is copied once (or reflinked), and
  without it ``cmf artifact pull --execution`` could not restore what the run
  read. Turn it off for inputs that live in a store of their own.

The cost is one copy (or a link) per new object, on top of the one hash pass
logging already made — the copy is not hashed again when the stat cache vouches
for the bytes, and it is left to the kernel to write to disk, unwaited (see
:meth:`Cache.add <cmf_core.artifacts.cache.Cache.add>`); bytes already stored
cost nothing.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cmf_core.artifacts.cache import Cache
from cmf_core.records import EventDirection

if TYPE_CHECKING:
    from cmf_core.config import Settings
    from cmf_core.hashing import DigestInfo, StatCache


@dataclass(frozen=True, slots=True)
class ArtifactKeeper:
    cache: Cache
    cache_inputs: bool = True
    cache_outputs: bool = True
    track_with_dvc: bool = False

    @classmethod
    def from_settings(
        cls, settings: "Settings", *, track_with_dvc: bool = False
    ) -> "ArtifactKeeper":
        return cls(
            Cache.for_settings(settings),
            cache_inputs=settings.cache_inputs,
            cache_outputs=settings.cache_outputs,
            track_with_dvc=track_with_dvc,
        )

    def keep(
        self,
        path: Path,
        info: "DigestInfo",
        direction: EventDirection,
        *,
        stat_cache: "StatCache | None" = None,
    ) -> None:
        """Store the bytes at ``path`` (hashed as ``info``) as configured for ``direction``."""
        wanted = self.cache_inputs if direction is EventDirection.INPUT else self.cache_outputs
        if wanted or self.track_with_dvc:
            self.cache.add(path, info.digest, stat_cache=stat_cache, durable=False)
        if self.track_with_dvc:
            from cmf_core.artifacts.dvcfiles import write_dvc_file

            write_dvc_file(Path(str(path).rstrip("/")), info.digest, info.size, info.nfiles)


__all__ = ["ArtifactKeeper"]
