"""Push and pull metadata between a store and a team server, resumable and idempotent.

**Push** walks this store's journal after the push cursor kept for the server
(and, with a pipeline, for that pipeline), a page at a time. For each page it
asks the server which records it lacks (an :class:`~cmf_core.sync.wire.SyncOffer`
of keys and fingerprints), sends only those — each execution with its events,
metrics and the artifacts they name — and moves the cursor once the server has
merged them. SyncBatch that came from this very server are not offered back. A
push killed midway resumes at the last page the server took; the server merges
repeats as no-ops.

**Pull** asks for the server's records journaled after the pull cursor (the
next page while it merges the last), merges each page in one transaction
(:func:`~cmf_core.store.merge.merge_records`, conflicts kept with both
versions) and then moves the cursor. Sequence numbers
order everything: no clock is read, so skewed clocks between sites lose
nothing.
"""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from cmf_core.errors import SyncError
from cmf_core.store import Store
from cmf_core.store.batch import MergeSummary, RecordBatch, Tally
from cmf_core.store.changes import Keys
from cmf_core.store.merge import merge_records
from cmf_core.sync.client import SyncClient
from cmf_core.sync.wire import SyncBatch, SyncOffer, offer_of, only

PAGE = 1000  # journal rows per push page
PULL_PAGE = 5000  # journal rows per pull page (the server sends at most SYNC_PAGE_LIMIT)

Progress = Callable[[int, int], None]  # (records done, records in the journal to go through)


@dataclass
class SyncReport:
    """What a push or pull did: records sent or received, how the receiving store merged
    them, and where the cursor went."""

    direction: str
    server: str
    scope: str
    cursor_before: int
    cursor_after: int
    pages: int = 0
    offered: int = 0
    sent: int = 0
    already_there: int = 0
    received: int = 0
    summary: MergeSummary = field(default_factory=MergeSummary)

    @property
    def conflicts(self) -> int:
        return sum(getattr(self.summary, kind).conflicts for kind in _KINDS)

    @property
    def new(self) -> int:
        return sum(getattr(self.summary, kind).new for kind in _KINDS)


_KINDS = ("pipelines", "stages", "executions", "artifacts", "events", "metrics", "annotations")


def push_metadata(
    store: Store,
    client: SyncClient,
    *,
    pipeline: str | None = None,
    progress: Progress | None = None,
    page: int = PAGE,
) -> SyncReport:
    """Send the server what it lacks of this store (or of one pipeline); see the module
    docstring.

    The server merges one page while this store reads and offers the next, so the two
    sides work at once; a page is sent only after the one before it was merged, and the
    cursor moves past a page only once the server has taken it.
    """
    scope = pipeline or ""
    cursor = store.get_cursor(client.identity, "push", scope)
    report = SyncReport("push", client.identity, scope, cursor, cursor)
    tally = Tally()
    total = max(store.latest_seq() - cursor, 0)
    start = cursor

    def settle(sending: "Future[MergeSummary | None]", last: int) -> None:
        nonlocal cursor
        summary = sending.result()
        if summary is not None:
            tally.add_summary(summary)
        if last > cursor:
            store.set_cursor(client.identity, "push", last, scope)
            cursor = last
        if progress is not None:
            progress(min(cursor - start, total), total)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cmf-push") as sender:
        in_flight: tuple[Future[MergeSummary | None], int] | None = None
        read_to = cursor
        while True:
            found = store.changes_after(
                read_to,
                limit=page,
                pipeline=pipeline,
                skip_origin=client.identity,
                self_contained=False,
            )
            records = None
            if len(found.records):
                offer = offer_of(found.records)
                wanted = client.missing(offer)
                report.offered += len(offer)
                report.already_there += len(offer) - len(wanted)
                part = only(_with_artifacts(store, found.records, wanted), wanted)
                if len(part):
                    records = SyncBatch.of(part)
                    report.sent += len(part)
            if in_flight is not None:
                settle(*in_flight)
            sending: Future[MergeSummary | None] = Future()
            if records is None:
                sending.set_result(None)
            else:
                sending = sender.submit(client.push, records)
            in_flight = (sending, found.last)
            read_to = max(read_to, found.last)
            report.pages += 1
            if not found.more:
                break
        settle(*in_flight)
    if not report.offered:
        client.missing(SyncOffer())  # nothing to send: still check the server and the token
    report.cursor_after = cursor
    report.summary = tally.summary()
    return report


def _with_artifacts(store: Store, batch: RecordBatch, wanted: SyncOffer) -> RecordBatch:
    """``batch`` with the wanted artifacts it named but did not hold (loaded now)."""
    held = {artifact.digest for artifact in batch.artifacts}
    lacking = [digest for digest in wanted.artifacts if digest not in held]
    if not lacking:
        return batch
    extra = store.load_records(Keys(artifacts=lacking)).artifacts
    return replace(batch, artifacts=[*batch.artifacts, *extra])


def pull_metadata(
    store: Store,
    client: SyncClient,
    *,
    progress: Progress | None = None,
    page: int = PULL_PAGE,
) -> SyncReport:
    """Merge everything the server journaled after this store's last pull from it.

    The server reads the next page while this store merges the one before it, so the
    two sides work at once; the cursor moves past a page only once it is merged here.
    """
    cursor = store.get_cursor(client.identity, "pull")
    report = SyncReport("pull", client.identity, "", cursor, cursor)
    tally = Tally()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cmf-pull") as fetcher:
        fetching = fetcher.submit(client.changes, cursor, limit=page)
        while True:
            found = fetching.result()
            if found.more and found.last <= cursor:
                raise SyncError(
                    f"The server {client.identity} says it has more after sequence {cursor} "
                    "but sent none; it may be an incompatible version."
                )
            if found.more:
                fetching = fetcher.submit(client.changes, found.last, limit=page)
            batch = found.records.batch()
            if len(batch):
                tally.add_summary(
                    merge_records(
                        store,
                        batch,
                        origin=client.identity,
                        source=f"pulled from {client.identity}",
                    )
                )
                report.received += len(batch)
            if found.last > cursor:
                store.set_cursor(client.identity, "pull", found.last)
                cursor = found.last
            report.pages += 1
            if progress is not None:
                progress(cursor - report.cursor_before, found.latest - report.cursor_before)
            if not found.more:
                break
    report.cursor_after = cursor
    report.summary = tally.summary()
    return report


__all__ = ["PAGE", "PULL_PAGE", "SyncReport", "pull_metadata", "push_metadata"]
