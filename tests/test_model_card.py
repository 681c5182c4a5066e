"""The model card on hand-built lineage whose answer is known, on both backends."""

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mcp.shared.exceptions import MCPError
from mcp_support import MODES, connect, make_server, size_in_chars, text

from cmf_core.errors import InvalidInputError, NotFoundError
from cmf_core.graph import card as card_module
from cmf_core.graph.card import model_card
from cmf_core.ids import Uuid7Generator
from cmf_core.records import ArtifactType, EventDirection, ExecutionStatus
from cmf_core.store import ArtifactRow, Store
from cmf_mcp.cli.main import cli

ids = Uuid7Generator()


def d(n: int) -> str:
    return f"md5:{n:032x}"


def run(
    store: Store,
    stage: str,
    *,
    params: dict[str, Any] | None = None,
    inputs: Sequence[tuple[str, str]] = (),
    outputs: Sequence[tuple[str, str]] = (),
    metrics: dict[str, float] | None = None,
    **columns: Any,
) -> str:
    execution_id = ids.new()
    store.start_execution(
        id=execution_id,
        stage_id=store.ensure_stage("fraud", stage),
        params=params or {},
        command=f"python {stage}.py",
        **columns,
    )
    for events, direction in ((inputs, EventDirection.INPUT), (outputs, EventDirection.OUTPUT)):
        for path, digest in events:
            kind = "model" if path.endswith(".pkl") else "dataset"
            store.record_artifact(
                ArtifactRow(digest, kind, 5, None, {}),
                execution_id=execution_id,
                direction=direction,
                path=path,
            )
    store.add_metrics(execution_id, [(k, None, v, 1.0) for k, v in (metrics or {}).items()])
    store.end_execution(execution_id, status=ExecutionStatus.COMPLETED)
    return execution_id


def environment(store: Store, digest: str) -> str:
    document = {
        "python": {"version": "3.12.1"},
        "platform": {"system": "Linux", "machine": "x86_64"},
        "packages": {"numpy": "2.0.2", "torch": "2.3.0"},
    }
    store.record_artifact(ArtifactRow(digest, "environment", None, None, document))
    return digest


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


def pipeline(store: Store) -> dict[str, str]:
    """raw.csv + labels.csv → prepare → featurize → train → model.pkl → evaluate ×2."""
    prepare = run(store, "prepare", inputs=[("data/raw.csv", d(1)), ("data/labels.csv", d(2))],
                  outputs=[("data/prepared", d(10))])  # fmt: skip
    featurize = run(store, "featurize", inputs=[("data/prepared", d(10))],
                    outputs=[("data/features", d(20))])  # fmt: skip
    train = run(store, "train", params={"lr": 0.01, "epochs": 5},
                inputs=[("data/features", d(20)), ("data/config.yaml", d(3))],
                outputs=[("models/model.pkl", d(30))], metrics={"f1": 0.91, "loss": math.nan},
                git_commit_start="c" * 40, git_is_dirty=True, git_branch="main",
                environment_digest=environment(store, d(99)))  # fmt: skip
    first = run(store, "evaluate", inputs=[("models/model.pkl", d(30))])
    second = run(store, "evaluate", inputs=[("export/model.pkl", d(30))])
    return {"prepare": prepare, "featurize": featurize, "train": train,
            "eval1": first, "eval2": second}  # fmt: skip


def test_a_card_names_the_model_its_run_its_data_code_environment_and_users(
    store: Store,
) -> None:
    runs = pipeline(store)
    store.insert_annotation(target_kind="artifact", target_key=d(30), key="stage",
                            value="staging", note=None, author="ana")  # fmt: skip
    store.insert_annotation(target_kind="artifact", target_key=d(30), key="stage",
                            value="prod", note="rolled out", author="bo")  # fmt: skip
    store.insert_annotation(target_kind="execution", target_key=runs["train"], key="verdict",
                            value="keep", note=None, author="ana")  # fmt: skip

    card = model_card(store, "models/model.pkl")

    assert (card.digest, card.type, card.is_model, card.note) == (d(30), "model", True, None)
    assert card.paths == ["export/model.pkl", "models/model.pkl"] and card.paths_total == 2
    assert [(lbl.key, lbl.value, lbl.author) for lbl in card.labels] == [("stage", "prod", "bo")]
    producer = card.producer
    assert producer is not None
    assert producer.execution.id == runs["train"]
    assert producer.execution.params == {"lr": 0.01, "epochs": 5}
    assert producer.metrics == {"f1": 0.91, "loss": None}  # NaN as None: the card is JSON
    assert (producer.execution.git_commit_start, producer.execution.git_is_dirty) == (
        "c" * 40,
        True,
    )
    assert producer.environment is not None
    assert (producer.environment.python, producer.environment.platform) == (
        "3.12.1",
        "Linux x86_64",
    )
    assert producer.environment.packages == 2
    assert [(i.digest, i.paths) for i in producer.inputs] == [
        (d(3), ["data/config.yaml"]),
        (d(20), ["data/features"]),
    ]
    assert [lbl.key for lbl in producer.labels] == ["verdict"]
    # raw sources: config.yaml is read by train itself (hop 2), raw and labels at hop 6
    assert [s.digest for s in card.sources] == [d(3), d(1), d(2)]
    assert card.sources_total == 3 and card.sources_complete
    assert [c.id for c in card.consumers] == [runs["eval1"], runs["eval2"]]
    assert (card.consumers_total, card.consumers_total_is_lower_bound) == (2, False)
    assert (card.producers_total, card.other_producers) == (1, [])


def test_lists_are_capped_with_their_totals(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline(store)
    for _ in range(4):
        run(store, "evaluate", inputs=[("models/model.pkl", d(30))])
    monkeypatch.setattr(card_module, "MAX_CONSUMERS", 2)
    monkeypatch.setattr(card_module, "COUNT_AT_MOST", 3)
    monkeypatch.setattr(card_module, "MAX_SOURCES", 1)
    card = model_card(store, d(30))
    assert len(card.consumers) == 2
    assert (card.consumers_total, card.consumers_total_is_lower_bound) == (3, True)
    assert len(card.sources) == 1 and card.sources_total == 3


def test_a_shallow_walk_says_the_sources_are_incomplete(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline(store)
    monkeypatch.setattr(card_module, "SOURCE_DEPTH", 2)
    card = model_card(store, d(30))
    assert not card.sources_complete
    assert [s.digest for s in card.sources] == [d(3)]


def test_bytes_written_twice_name_the_first_writer_and_count_the_others(store: Store) -> None:
    first = run(store, "train", inputs=[("data/x", d(1))], outputs=[("m.pkl", d(30))])
    again = run(store, "train", inputs=[("data/x", d(1))], outputs=[("m.pkl", d(30))])
    card = model_card(store, d(30))
    assert card.producer is not None and card.producer.execution.id == first
    assert (card.producers_total, card.other_producers) == (2, [again])


def test_a_dataset_gets_a_card_that_says_it_is_not_a_model(store: Store) -> None:
    pipeline(store)
    card = model_card(store, "data/features")
    assert (card.type, card.is_model) == (ArtifactType.DATASET, False)
    assert card.note == f"{d(20)} is a dataset, not a model; this card describes it the same way."
    raw = model_card(store, "data/raw.csv")
    assert raw.producer is None and raw.sources == [] and raw.producers_total == 0
    assert [c.stage for c in raw.consumers] == ["prepare"]


def test_an_execution_id_is_refused_naming_the_models_it_wrote(store: Store) -> None:
    runs = pipeline(store)
    with pytest.raises(InvalidInputError) as caught:
        model_card(store, runs["train"][:13])
    assert str(caught.value) == (
        f"A model card starts from a model, and {runs['train'][:13]!r} is execution "
        f"{runs['train']}; it wrote {d(30)} (models/model.pkl)."
    )
    with pytest.raises(InvalidInputError, match="it wrote no model"):
        model_card(store, runs["prepare"])


def test_unknown_and_ambiguous_references_are_clear_errors(store: Store) -> None:
    pipeline(store)
    with pytest.raises(NotFoundError, match="models/other.pkl"):
        model_card(store, "models/other.pkl")
    with pytest.raises(InvalidInputError, match="md5:0000"):
        model_card(store, "md5:0000")


def invoke(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--store", url, *args])
    return result.exit_code, result.stdout, result.stderr


def test_cmf_card_prints_the_card_and_its_json(store: Store, store_url: str) -> None:
    runs = pipeline(store)
    code, out, _ = invoke(store_url, "card", "models/model.pkl")
    assert code == 0
    assert out.splitlines()[0] == f"model {d(30)}  (5 bytes)"
    assert f"made by execution {runs['train']}: fraud/train completed" in out
    assert "  params: lr=0.01, epochs=5" in out
    assert "  final metrics: f1=0.91, loss=nan" in out
    assert f"  code: {'c' * 40} (uncommitted changes) on main" in out
    assert "  environment: python 3.12.1 on Linux x86_64, 2 packages" in out
    assert f"  {d(1)}  data/raw.csv" in out
    assert "used by 2 run(s):" in out and runs["eval2"] in out

    code, out, _ = invoke(store_url, "card", d(30), "--json")
    assert code == 0
    body = json.loads(out)
    assert body["producer"]["execution"]["id"] == runs["train"]
    assert body["consumers_total"] == 2


def test_cmf_card_errors_are_one_line(store: Store, store_url: str) -> None:
    runs = pipeline(store)
    code, _, err = invoke(store_url, "card", "models/nothing.pkl")
    assert code == 1 and err.startswith("Error: No artifact was logged under the path")
    code, _, err = invoke(store_url, "card", runs["train"])
    assert code == 1
    assert err.startswith("Error: A model card starts from a model")
    assert d(30) in err


@pytest.mark.parametrize("mode", MODES)
def test_the_model_card_tool_and_resource_answer_in_one_call(
    bare_project: Path, sqlite_url: str, mode: str
) -> None:
    with Store(sqlite_url) as store:
        runs = pipeline(store)
        store.insert_annotation(target_kind="artifact", target_key=d(30), key="stage",
                                value="prod", note=None, author="ana")  # fmt: skip
    server = make_server(sqlite_url)
    try:
        with connect(server, mode) as client:
            card = client.ok("model_card", {"model": "models/model.pkl"})["card"]
            shown = text(client.call("model_card", {"model": d(30), "detail": "full"}))
            ambiguous = client.error("model_card", {"model": d(30)[:12]})
            (content,) = client.run("read_resource", f"cmf://models/{d(30)}").contents
            refused = client.error("model_card", {"model": runs["train"]})
            unknown = client.error("model_card", {"model": "models/none.pkl"})
            with pytest.raises(MCPError, match="No artifact was logged under the path"):
                client.run("read_resource", "cmf://models/models%2Fnone.pkl")
    finally:
        server.close()
    assert card["producer"]["execution"]["id"] == runs["train"]
    assert card["producer"]["metrics"] == {"f1": 0.91, "loss": None}
    assert [s["digest"] for s in card["sources"]] == [d(3), d(1), d(2)]
    assert card["consumers_total"] == 2 and card["labels"][0]["value"] == "prod"
    assert json.loads(content.text)["card"]["digest"] == d(30)
    assert f"made by execution {runs['train']}: fraud/train completed" in shown
    assert 'label stage [user data]: "prod"' in shown
    assert f"  {runs['eval1']} fraud/evaluate completed" in shown
    assert f"is execution {runs['train']}; it wrote {d(30)} (models/model.pkl)" in refused
    assert "models/none.pkl" in unknown
    assert "matches more than one artifact" in ambiguous and "Give more characters" in ambiguous


def test_a_card_with_huge_values_stays_within_the_output_budget(
    bare_project: Path, sqlite_url: str
) -> None:
    with Store(sqlite_url) as store:
        params = {f"p{i}": "x" * 5_000 for i in range(80)}
        sources = [(f"data/raw-{i}-{'y' * 900}.csv", d(100 + i)) for i in range(40)]
        train = run(store, "train", params=params, inputs=sources,
                    outputs=[("models/model.pkl", d(30))])  # fmt: skip
        for _ in range(15):
            run(store, "evaluate", inputs=[("models/model.pkl", d(30))])
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            for detail in ("concise", "full"):
                result = client.call("model_card", {"model": d(30), "detail": detail})
                assert not result.is_error, text(result)
                assert size_in_chars(result) < 28_000
                card = result.structured_content["card"]
                assert card["producer"]["execution"]["id"] == train
                assert card["sources_total"] == 40 and card["consumers_total"] == 15
                assert result.structured_content["clipped"]
    finally:
        server.close()
