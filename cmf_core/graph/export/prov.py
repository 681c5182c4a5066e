"""Pipelines as a W3C PROV-JSON document, built with prov (optional extra:
``pip install 'cmf[prov]'``, imported on first use).

Mapping: artifact → entity ``artifact:<digest>``, execution → activity
``execution:<id>``, input → ``used``, output → ``wasGeneratedBy`` (each with
the path the run saw), the site an execution ran on → agent
(``wasAssociatedWith``). Pipeline, stage, status, Git state, environment and
params are ``cmf:`` attributes of the activity.
"""

import json
from collections.abc import Collection
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cmf_core.graph.export.runs import iter_runs, missing_extra
from cmf_core.records import EventDirection

if TYPE_CHECKING:
    from cmf_core.store import Store

PROV_BASE = "urn:cmf:"


def to_prov(
    store: "Store",
    *,
    pipeline: str | None = None,
    execution_ids: Collection[str] | None = None,
    base_uri: str = PROV_BASE,
) -> str:
    """A W3C PROV-JSON document of the executions selected as in :func:`iter_runs`, built
    in memory with prov: the reference :func:`~cmf_core.graph.export.prov_stream.stream_prov`
    is held to, and fine for a lineage graph's runs; a whole store streams there."""
    try:
        from prov.model import PROV, ProvDocument
    except ImportError as exc:
        raise missing_extra("prov", "prov", "PROV-JSON") from exc
    document = ProvDocument()
    cmf = document.add_namespace("cmf", base_uri + "vocab#")
    artifact = document.add_namespace("artifact", base_uri + "artifact:")
    execution_ns = document.add_namespace("execution", base_uri + "execution:")
    site = document.add_namespace("site", base_uri + "site:")
    entities: set[str] = set()
    agents: set[str] = set()
    for execution, found in iter_runs(store, pipeline=pipeline, execution_ids=execution_ids):
        attributes: dict[Any, Any] = {
            "prov:label": f"{execution.pipeline}/{execution.stage}",
            cmf["pipeline"]: execution.pipeline,
            cmf["stage"]: execution.stage,
            cmf["status"]: execution.status.value,
            cmf["gitCommit"]: execution.git_commit_start,
            cmf["gitCommitEnd"]: execution.git_commit_end,
            cmf["gitDirty"]: execution.git_is_dirty,
            cmf["environment"]: execution.environment_digest,
            cmf["params"]: json.dumps(execution.params, sort_keys=True)
            if execution.params
            else None,
        }
        activity = document.activity(
            execution_ns[execution.id],
            execution.started_at,
            execution.ended_at,
            {k: v for k, v in attributes.items() if v is not None},
        )
        if execution.site:
            # Quoted: a space or '#' in a site name would not make a valid qualified name.
            agent = site[quote(execution.site, safe="")]
            if execution.site not in agents:
                agents.add(execution.site)
                described: dict[Any, Any] = {
                    "prov:type": PROV["SoftwareAgent"],
                    "prov:label": execution.site,
                }
                document.agent(agent, described)
            document.wasAssociatedWith(activity, agent)
        for event in found:
            entity = artifact[event.artifact.digest]
            if event.artifact.digest not in entities:
                entities.add(event.artifact.digest)
                details = {cmf["type"]: event.artifact.type.value, cmf["size"]: event.artifact.size}
                document.entity(entity, {k: v for k, v in details.items() if v is not None})
            if event.direction is EventDirection.INPUT:
                document.used(activity, entity, other_attributes={cmf["path"]: event.path})
            else:
                document.wasGeneratedBy(
                    entity, activity, other_attributes={cmf["path"]: event.path}
                )
    text = document.serialize(format="json")
    assert isinstance(text, str)
    return text
