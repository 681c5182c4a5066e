"""Pipelines as one W3C PROV-JSON document, streamed section by section.

The records are those :func:`~cmf_core.graph.export.prov.to_prov` builds with
the prov library (same mapping, same identifiers and attributes; relations get
other blank-node ids, ``_:idN``, which PROV-JSON leaves to the writer). A
PROV-JSON document groups its records by kind — one JSON object per kind — so
the store is read once per section, one page at a time, and each section is
written as it is read: ``activity`` (executions), ``agent`` (their sites),
``wasAssociatedWith``, ``used`` (input events), ``wasGeneratedBy`` (output
events), ``entity`` (the artifacts those events name, one paged query). Memory
holds one page and the set of site names, not the document: building the
document with prov first held every record (1.7 GB at 100,000 executions) and
ran at about 2,000 executions/s, so this module writes the JSON itself.

The document is one JSON object with one record per line. Each pass after the
first stops at the last execution the first saw, so an execution recorded while
the export runs is left out of every section alike, its artifacts too.
"""

import json
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as quote_uri

from cmf_core.graph.export import runs
from cmf_core.graph.export.prov import PROV_BASE
from cmf_core.graph.export.runs import check_selection, run_pages, site_pages
from cmf_core.records import ArtifactType, EventDirection

if TYPE_CHECKING:
    from cmf_core.store import Store
    from cmf_core.store.export_reads import ExportRun

Records = Iterator[list[str]]  # pages of records, each '"identifier": {attributes}'
# A str as JSON text, exactly as json.dumps(..., ensure_ascii=False) writes it (the C encoder).
quote: Callable[[str], str] = json.encoder.encode_basestring

_INT32 = 2**31
_INT64 = 2**63


def stream_prov(
    store: "Store",
    *,
    pipeline: str | None = None,
    execution_ids: Collection[str] | None = None,
    base_uri: str = PROV_BASE,
) -> Iterator[str]:
    """The PROV-JSON document of the executions selected as in
    :func:`~cmf_core.graph.export.runs.iter_runs`, as text chunks (one per page read).
    The pipeline is checked before this returns."""
    check_selection(store, pipeline)
    return _Document(store, pipeline, execution_ids, base_uri).chunks()


def typed_int(value: int) -> dict[str, str]:
    """An integer as prov writes one: a string typed by its magnitude."""
    kind = (
        "int" if -_INT32 <= value < _INT32 else "long" if -_INT64 <= value < _INT64 else "integer"
    )
    return {"$": str(value), "type": f"xsd:{kind}"}


class _Document:
    def __init__(
        self, store: "Store", pipeline: str | None, ids: Collection[str] | None, base_uri: str
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.ids = None if ids is None else sorted(set(ids))
        self.base_uri = base_uri
        self.dumps: Callable[[Any], str] = json.JSONEncoder(ensure_ascii=False).encode
        self.sites: dict[str, str] = {}  # site → its agent's identifier, in order seen
        self.last: str | None = None  # the last execution the activity pass saw
        self.relations = 0  # blank-node ids handed out
        # With ids, the artifacts are few (a lineage graph's): gathered from the events.
        self.seen: dict[str, tuple[ArtifactType, int | None]] = {}

    def chunks(self) -> Iterator[str]:
        prefix = {
            name: self.base_uri + suffix
            for name, suffix in (
                ("cmf", "vocab#"),
                ("artifact", "artifact:"),
                ("execution", "execution:"),
                ("site", "site:"),
            )
        }
        yield '{"prefix": ' + self.dumps(prefix)
        yield from self.section("activity", self.activities())
        yield from self.section("agent", self.agents())
        yield from self.section("wasAssociatedWith", self.associations())
        yield from self.section("used", self.events(EventDirection.INPUT))
        yield from self.section("wasGeneratedBy", self.events(EventDirection.OUTPUT))
        yield from self.section("entity", self.entities())
        yield "}\n"

    def section(self, name: str, pages: Records) -> Iterator[str]:
        """``"name": {…}`` one record per line, one chunk per page; nothing if no record.
        A page holds ``"identifier": {…}`` lines already encoded."""
        opened = False
        for page in pages:
            if not page:
                continue
            yield (",\n" if opened else f',\n"{name}": {{\n') + ",\n".join(page)
            opened = True
        if opened:
            yield "\n}"

    def blank(self) -> str:
        self.relations += 1
        return f"_:id{self.relations}"

    def activities(self) -> Records:
        for page in run_pages(self.store, pipeline=self.pipeline, execution_ids=self.ids):
            self.last = page[-1].id
            for run in page:
                if run.site and run.site not in self.sites:
                    # Quoted: a space or '#' in a site name would not make a valid name.
                    self.sites[run.site] = "site:" + quote_uri(run.site, safe="")
            yield [
                f"{quote('execution:' + run.id)}: {self.dumps(self.activity(run))}" for run in page
            ]

    def activity(self, run: "ExportRun") -> dict[str, Any]:
        attributes: dict[str, Any] = {"prov:startTime": run.started_at.isoformat()}
        if run.ended_at is not None:
            attributes["prov:endTime"] = run.ended_at.isoformat()
        for key, value in (
            ("prov:label", f"{run.pipeline}/{run.stage}"),
            ("cmf:pipeline", run.pipeline),
            ("cmf:stage", run.stage),
            ("cmf:status", run.status.value),
            ("cmf:gitCommit", run.git_commit_start),
            ("cmf:gitCommitEnd", run.git_commit_end),
            ("cmf:gitDirty", run.git_is_dirty),
            ("cmf:environment", run.environment_digest),
            ("cmf:params", json.dumps(run.params, sort_keys=True) if run.params else None),
        ):
            if value is not None:
                attributes[key] = value
        return attributes

    def agents(self) -> Records:
        software = {"$": "prov:SoftwareAgent", "type": "xsd:QName"}
        yield [
            f"{quote(agent)}: {self.dumps({'prov:type': software, 'prov:label': site})}"
            for site, agent in self.sites.items()
        ]

    def keys(self) -> Iterator[list[tuple[str, str | None]]]:
        return site_pages(
            self.store, pipeline=self.pipeline, execution_ids=self.ids, upto=self.last
        )

    def associations(self) -> Records:
        for page in self.keys():
            yield [
                f'"{self.blank()}": {{"prov:activity": {quote("execution:" + id)}, '
                f'"prov:agent": {quote(self.sites[site])}}}'
                for id, site in page
                if site
            ]

    def events(self, direction: EventDirection) -> Records:
        is_input = direction is EventDirection.INPUT
        for page in self.keys():
            found = self.store.export_events([id for id, _ in page], direction=direction)
            if self.ids is not None:
                for e in found:
                    self.seen.setdefault(e.digest, (e.type, e.size))
            if is_input:
                yield [
                    f'"{self.blank()}": {{"prov:activity": {quote("execution:" + e.execution_id)}, '
                    f'"prov:entity": {quote("artifact:" + e.digest)}, "cmf:path": {quote(e.path)}}}'
                    for e in found
                ]
            else:
                yield [
                    f'"{self.blank()}": {{"prov:entity": {quote("artifact:" + e.digest)}, '
                    f'"prov:activity": {quote("execution:" + e.execution_id)}, '
                    f'"cmf:path": {quote(e.path)}}}'
                    for e in found
                ]

    def entities(self) -> Records:
        if self.ids is not None:
            yield [self.entity(d, type, size) for d, (type, size) in self.seen.items()]
            return
        if self.last is None:
            return  # no execution, no entity
        after: str | None = None
        while True:
            page = self.store.export_artifacts(
                pipeline=self.pipeline, upto=self.last, after=after, limit=runs.BATCH
            )
            yield [self.entity(a.digest, a.type, a.size) for a in page]
            if len(page) < runs.BATCH:
                return
            after = page[-1].digest

    def entity(self, digest: str, type: ArtifactType, size: int | None) -> str:
        text = f'{quote("artifact:" + digest)}: {{"cmf:type": "{type.value}"'
        if size is not None:
            text += f', "cmf:size": {self.dumps(typed_int(size))}'
        return text + "}"
