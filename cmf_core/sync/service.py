"""What a store does when it is the other end of a sync: hand out pages, say what it lacks,
take pushed records.

The team server's routes call these and nothing else, and so does a bundle
import; each is one short transaction or a read, so any number of server
processes on one PostgreSQL database may run them at once.
"""

import time

from cmf_core.errors import ConflictError, StoreError
from cmf_core.store import Store
from cmf_core.store.batch import MergeSummary
from cmf_core.store.changes import Keys
from cmf_core.store.journal import parse_stage_key, stage_key
from cmf_core.store.merge import merge_records
from cmf_core.sync.wire import PRESENCE, RUNNING, SyncBatch, SyncOffer, SyncPage, fingerprint

MERGE_ATTEMPTS = 4
SYNC_PAGE_LIMIT = 5000  # journal rows per pull page, at most


def sync_changes(store: Store, after: int, *, limit: int = 500) -> SyncPage:
    """The records journaled after ``after`` (at most ``limit`` journal rows)."""
    latest = store.latest_seq()
    page = store.changes_after(max(after, 0), limit=max(1, min(limit, SYNC_PAGE_LIMIT)))
    records = SyncBatch.of(page.records)
    return SyncPage(records=records, last=page.last, more=page.more, latest=max(latest, page.last))


def sync_missing(store: Store, offer: SyncOffer) -> SyncOffer:
    """The part of ``offer`` that ``store`` lacks, or holds with other content."""
    presence = [digest for digest, print_ in offer.artifacts.items() if print_ == PRESENCE]
    keys = Keys(
        pipelines=list(offer.pipelines),
        stages=[parse_stage_key(key) for key in offer.stages],
        artifacts=[digest for digest, print_ in offer.artifacts.items() if print_ != PRESENCE],
        executions=list(offer.executions),
        annotations=list(offer.annotations),
    )
    stored = store.load_records(keys, links=False)
    have = {
        "pipelines": {p.name: fingerprint(p) for p in stored.pipelines},
        "stages": {stage_key(s.pipeline, s.name): fingerprint(s) for s in stored.stages},
        "artifacts": {a.digest: fingerprint(a) for a in stored.artifacts},
        "executions": {e.id: fingerprint(e) for e in stored.executions},
        "annotations": {a.uid: fingerprint(a) for a in stored.annotations},
    }
    have["artifacts"].update(dict.fromkeys(store.existing_digests(presence), PRESENCE))
    return SyncOffer(
        **{
            kind: {
                key: print_
                for key, print_ in getattr(offer, kind).items()
                if _lacks(have[kind].get(key), print_)
            }
            for kind in have
        }
    )


def _lacks(stored: str | None, offered: str) -> bool:
    """Whether a record with fingerprint ``offered`` should be sent to a store holding
    ``stored``: it has none, or another version — except that an ended execution there
    already beats a running one here, and a running one there takes any news."""
    if stored is None or stored == RUNNING:
        return True
    return offered != RUNNING and offered != stored


def sync_receive(store: Store, records: SyncBatch, *, actor: str) -> MergeSummary:
    """Merge records pushed by ``actor`` (a token's name: its site), audited, in one
    transaction.

    Two server processes may merge the same new record at once; the second then hits
    the first one's row (a unique key, or a deadlock the database broke) and its whole
    transaction is undone. It is merged again, a few times at most, and finds the row.
    """
    batch = records.batch()
    for attempt in range(MERGE_ATTEMPTS):
        try:
            return merge_records(
                store, batch, origin=f"token:{actor}", source=f"pushed by {actor}", actor=actor
            )
        except (ConflictError, StoreError):
            if attempt == MERGE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


__all__ = ["SYNC_PAGE_LIMIT", "sync_changes", "sync_missing", "sync_receive"]
