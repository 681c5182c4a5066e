"""Resources under cmf://, prompts, and completions of their arguments."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp_support import MODES, connect, make_server, write
from mcp_types import PromptReference, ResourceTemplateReference

from cmf_core.tracking import Cmf
from cmf_mcp.mcp.server import CmfServer


@pytest.fixture
def recorded(bare_project: Path, sqlite_url: str) -> Iterator[tuple[CmfServer, dict[str, Any]]]:
    """Two pipelines; fraud has prepare -> train; ids and digests of what was recorded."""
    write(bare_project / "raw.csv", "raw")
    write(bare_project / "clean.csv", "clean")
    with Cmf(
        pipeline="fraud", store=sqlite_url, capture_git=False, capture_environment=False
    ) as cmf:
        with cmf.execution("prepare", params={"seed": 1}) as prepare:
            raw = prepare.log_dataset("raw.csv", event="input")
            clean = prepare.log_dataset("clean.csv", event="output")
        with cmf.execution("train") as train:
            train.log_dataset("clean.csv", event="input")
        with cmf.execution("evaluate", pipeline="churn") as other:
            other.log_dataset("raw.csv", event="input")
    server = make_server(sqlite_url)
    ids = {"prepare": prepare.id, "train": train.id, "raw": raw.digest, "clean": clean.digest}
    yield server, ids
    server.close()


@pytest.mark.parametrize("mode", MODES)
def test_resources_serve_pipelines_executions_and_artifacts_as_json(
    recorded: tuple[CmfServer, dict[str, Any]], mode: str
) -> None:
    server, ids = recorded
    with connect(server, mode) as client:
        listed = client.run("list_resources").resources
        templates = client.run("list_resource_templates").resource_templates

        def read(uri: str) -> Any:
            (content,) = client.run("read_resource", uri).contents
            assert content.mime_type == "application/json"
            return json.loads(content.text)

        pipelines = read("cmf://pipelines")
        one = read("cmf://pipelines/fraud")
        execution = read(f"cmf://executions/{ids['prepare'][:23]}")
        artifact = read(f"cmf://artifacts/{ids['clean']}")
        (diagram,) = client.run("read_resource", f"cmf://lineage/{ids['clean'][:12]}").contents
        with pytest.raises(MCPError, match="No pipeline named 'nope'; read cmf://pipelines"):
            read("cmf://pipelines/nope")
        with pytest.raises(MCPError, match="No execution matches 'ffffffff'"):
            read("cmf://executions/ffffffff")
    assert [str(r.uri) for r in listed] == ["cmf://pipelines"]
    assert {t.uri_template for t in templates} == {
        "cmf://pipelines/{name}",
        "cmf://executions/{id}",
        "cmf://artifacts/{digest}",
        "cmf://lineage/{digest}",
        "cmf://models/{reference}",
    }
    assert diagram.mime_type == "text/vnd.mermaid"
    assert diagram.text.startswith("flowchart LR") and diagram.text.count("-->") == 2
    assert [(p["name"], p["stages"]) for p in pipelines["items"]] == [
        ("churn", ["evaluate"]),
        ("fraud", ["prepare", "train"]),
    ]
    assert [e["stage"] for e in one["newest_executions"]] == ["train", "prepare"]
    assert execution["execution"]["params"] == {"seed": 1}
    assert [o["digest"] for o in execution["outputs"]] == [ids["clean"]]
    assert [u["stage"] for u in artifact["produced_by"]] == ["prepare"]
    assert [u["stage"] for u in artifact["used_by"]] == ["train"]


@pytest.mark.parametrize("mode", MODES)
def test_prompts_name_the_tools_to_call_and_quote_their_arguments(
    recorded: tuple[CmfServer, dict[str, Any]], mode: str
) -> None:
    server, ids = recorded
    with connect(server, mode) as client:
        prompts = {p.name: p for p in client.run("list_prompts").prompts}
        lineage = client.run("get_prompt", "explain_lineage", {"artifact": 'model"\nignore'})
        regression = client.run(
            "get_prompt", "investigate_regression", {"run_a": ids["prepare"], "run_b": ids["train"]}
        )
        summary = client.run("get_prompt", "summarize_pipeline", {"pipeline": "fraud"})
    assert set(prompts) == {"explain_lineage", "investigate_regression", "summarize_pipeline"}
    assert [a.name for a in prompts["summarize_pipeline"].arguments or []] == ["pipeline", "stage"]
    first = lineage.messages[0].content.text
    assert '"model\\"\\nignore"' in first and "get_artifact" in first
    assert ids["prepare"] in regression.messages[0].content.text
    assert "list_pipelines" in summary.messages[0].content.text


def test_completions_offer_pipelines_stages_and_id_prefixes(
    recorded: tuple[CmfServer, dict[str, Any]],
) -> None:
    server, ids = recorded
    prompt = PromptReference(type="ref/prompt", name="summarize_pipeline")
    execution = ResourceTemplateReference(type="ref/resource", uri="cmf://executions/{id}")
    artifact = ResourceTemplateReference(type="ref/resource", uri="cmf://artifacts/{digest}")
    with connect(server) as client:

        def complete(ref: Any, name: str, value: str, **known: str) -> list[str]:
            done = client.run("complete", ref, {"name": name, "value": value}, known or None)
            return list(done.completion.values)

        assert complete(prompt, "pipeline", "") == ["churn", "fraud"]
        assert complete(prompt, "pipeline", "fr") == ["fraud"]
        assert complete(prompt, "stage", "", pipeline="fraud") == ["prepare", "train"]
        assert complete(prompt, "stage", "t", pipeline="fraud") == ["train"]
        assert complete(execution, "id", ids["train"][:30]) == [ids["train"]]
        assert complete(artifact, "digest", ids["raw"][4:14]) == [ids["raw"]]
        assert complete(artifact, "digest", "md5:zz") == []
