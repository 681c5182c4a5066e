"""`@step`: one execution per call — params, inputs, outputs, the run, failures, every kind."""

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cmf_core import (
    ArtifactError,
    Cmf,
    Dataset,
    ExecutionDetail,
    InvalidInputError,
    Metrics,
    Model,
    Output,
    Run,
    Store,
    step,
)


@pytest.fixture
def cmf(project: Path, store_url: str) -> Iterator[Cmf]:
    with Cmf(pipeline="fraud", store=store_url) as recorder:
        yield recorder


def executions(cmf: Cmf) -> list[ExecutionDetail]:
    """Every execution recorded, oldest first, with its events and metrics."""
    listed = cmf.store.list_executions(limit=1000)
    return [cmf.store.get_execution_detail(e.id) for e in reversed(listed)]


def write(path: str, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)


def test_a_call_records_params_inputs_outputs_and_the_runs_metrics(cmf: Cmf) -> None:
    write("data/raw.csv", "a,b\n1,2\n")

    @step(cmf=cmf)
    def prepare(
        raw: Dataset, out: Output[Dataset], *, seed: int = 7, note: object = None, run: Run
    ) -> Model:
        write(out, Path(raw).read_text())
        for epoch in range(3):
            run.log_metric("loss", 1 / (epoch + 1))
        write("models/m.bin", "model")
        return Model("models/m.bin")

    assert prepare(Dataset("data/raw.csv"), "data/prepared.csv", note=object()) == "models/m.bin"
    (detail,) = executions(cmf)
    execution = detail.execution
    assert (execution.pipeline, execution.stage, execution.status.value) == (
        "fraud",
        "prepare",
        "completed",
    )
    assert execution.params == {"seed": 7}  # artifacts, the run and non-JSON values left out
    assert execution.properties["function"].endswith("prepare")
    assert [(e.path, e.artifact.type.value) for e in detail.inputs] == [("data/raw.csv", "dataset")]
    assert sorted((e.path, e.artifact.type.value) for e in detail.outputs) == [
        ("data/prepared.csv", "dataset"),
        ("models/m.bin", "model"),
    ]
    assert detail.step_metrics == {"loss": 3}
    assert prepare.__name__ == "prepare"


def test_stage_and_pipeline_come_from_arguments_then_the_environment_then_the_name(
    project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Cmf(store=sqlite_url) as cmf:

        @step(cmf=cmf)
        def featurize() -> None:
            pass

        @step(cmf=cmf, pipeline="explicit", stage="named")
        def other() -> None:
            pass

        with pytest.raises(InvalidInputError, match="No pipeline for step 'featurize'"):
            featurize()
        monkeypatch.setenv("CMF_PIPELINE", "from-env")
        featurize()
        monkeypatch.setenv("CMF_STAGE", "stage-env")
        featurize()
        other()
        found = [(d.execution.pipeline, d.execution.stage) for d in executions(cmf)]
    assert found == [("from-env", "featurize"), ("from-env", "stage-env"), ("explicit", "named")]


def test_params_come_from_the_params_file_and_the_call_wins(cmf: Cmf) -> None:
    write("params.yaml", "lr: 0.5\nepochs: 3\nlayers: [8, 4]\n")

    @step(cmf=cmf, params_file="params.yaml")
    def train(*sizes: int, lr: float = 0.1, **extra: object) -> None:
        pass

    train(1, 2, lr=0.01, path=Path("x/y"))
    (detail,) = executions(cmf)
    assert detail.execution.params == {
        "lr": 0.01,
        "epochs": 3,
        "layers": [8, 4],
        "sizes": [1, 2],
        "path": "x/y",
    }


def test_a_missing_declared_input_fails_the_run_naming_it_before_the_body_runs(cmf: Cmf) -> None:
    ran: list[str] = []

    @step(cmf=cmf, inputs=["data/absent.csv"])
    def train() -> None:
        ran.append("body")

    with pytest.raises(ArtifactError, match="Input data/absent.csv of step 'train' does not exist"):
        train()
    assert ran == []
    (detail,) = executions(cmf)
    assert detail.execution.status.value == "failed"
    assert "data/absent.csv" in (detail.execution.error or "")


def test_an_exception_fails_the_run_and_is_re_raised(cmf: Cmf) -> None:
    @step(cmf=cmf)
    def evaluate(threshold: float) -> None:
        raise ValueError(f"threshold {threshold} too high")

    with pytest.raises(ValueError, match="too high"):
        evaluate(0.9)
    (detail,) = executions(cmf)
    assert detail.execution.status.value == "failed"
    assert detail.execution.error == "ValueError: threshold 0.9 too high"


def test_a_declared_output_the_body_did_not_write_fails_the_run(cmf: Cmf) -> None:
    @step(cmf=cmf, outputs=[Model("models/model.pkl"), "data/written.csv"])
    def train() -> None:
        write("data/written.csv", "x")

    with pytest.raises(ArtifactError, match="did not write its declared output models/model.pkl"):
        train()
    (detail,) = executions(cmf)
    assert detail.execution.status.value == "failed"
    assert [e.path for e in detail.outputs] == ["data/written.csv"]


def test_a_call_the_function_cannot_take_records_nothing(cmf: Cmf) -> None:
    @step(cmf=cmf)
    def train(data: Dataset) -> None:
        pass

    with pytest.raises(TypeError):
        train()
    assert executions(cmf) == []


def test_a_generator_is_one_execution_from_first_item_to_last(cmf: Cmf) -> None:
    @step(cmf=cmf)
    def batches(n: int, *, run: Run) -> Iterator[int]:
        for i in range(n):
            run.log_metric("seen", i)
            yield i
        write("metrics.json", "{}")
        return Metrics("metrics.json")  # type: ignore[return-value]

    items = batches(3)
    assert executions(cmf) == []  # nothing until the first item is asked for
    assert list(items) == [0, 1, 2]
    stopped = batches(5)
    next(stopped)
    stopped.close()
    first, second = executions(cmf)
    assert first.execution.status.value == "completed" and first.step_metrics == {"seen": 3}
    assert [(e.path, e.artifact.type.value) for e in first.outputs] == [("metrics.json", "metrics")]
    assert second.execution.status.value == "completed" and second.step_metrics == {"seen": 1}


def test_coroutines_and_async_generators_are_recorded(cmf: Cmf) -> None:
    @step(cmf=cmf)
    async def score(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    @step(cmf=cmf)
    async def stream(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    @step(cmf=cmf)
    async def broken() -> None:
        raise RuntimeError("no")

    async def main() -> list[int]:
        with pytest.raises(RuntimeError):
            await broken()
        return [await score(4), *[i async for i in stream(2)]]

    assert asyncio.run(main()) == [8, 0, 1]
    found = [(d.execution.stage, d.execution.status.value) for d in executions(cmf)]
    assert found == [("broken", "failed"), ("score", "completed"), ("stream", "completed")]


def test_without_a_recorder_the_step_records_into_the_projects_store(project: Path) -> None:
    script = project / "job.py"
    script.write_text(
        "from cmf_core import step\n"
        "@step(pipeline='p')\n"
        "def one(x: int) -> int:\n"
        "    return x\n"
        "for i in range(3):\n"
        "    one(i)\n"
    )
    subprocess.run([sys.executable, str(script)], cwd=project, check=True)
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        listed = store.list_executions()
    assert sorted(e.params["x"] for e in listed) == [0, 1, 2]
    assert {e.stage for e in listed} == {"one"}


def test_the_four_stage_example_runs_with_only_the_decorator(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    example = root / "examples" / "step_decorator" / "pipeline.py"
    assert "Cmf(" not in example.read_text()
    result = subprocess.run(
        [sys.executable, str(example), str(tmp_path / "work")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for stage in ("prepare", "featurize", "train", "evaluate"):
        assert f"fraud-steps/{stage}" in result.stdout


def test_containers_optionals_and_hinted_returns_are_typed_artifacts(cmf: Cmf) -> None:
    for name in ("a.csv", "b.csv", "extra.csv", "m.bin", "scores.json"):
        write(f"data/{name}", name)

    @step(cmf=cmf)
    def train(
        parts: list[Dataset], maybe: Model | None = None, extra: object = None
    ) -> tuple[Model, Metrics]:
        return "data/m.bin", "data/scores.json"  # type: ignore[return-value]

    train([Dataset("data/a.csv"), "data/b.csv"], extra=Dataset("data/extra.csv"))
    (detail,) = executions(cmf)
    assert sorted(e.path for e in detail.inputs) == ["data/a.csv", "data/b.csv", "data/extra.csv"]
    assert sorted((e.path, e.artifact.type.value) for e in detail.outputs) == [
        ("data/m.bin", "model"),
        ("data/scores.json", "metrics"),
    ]
    assert detail.execution.params == {}


def test_an_unresolvable_annotation_leaves_the_other_arguments_typed(cmf: Cmf) -> None:
    write("data/in.csv", "x")

    @step(cmf=cmf)
    def prepare(raw: Dataset, later: "NotDefinedAnywhere") -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    prepare("data/in.csv", 3)
    (detail,) = executions(cmf)
    assert [e.path for e in detail.inputs] == ["data/in.csv"]
    assert detail.execution.params == {"later": 3}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("params.ini", "a=1", "is none of them"),
        ("params.yaml", "- 1\n- 2\n", "must hold a mapping"),
        ("params.yaml", "a: [1\n", "cannot be parsed"),
        ("params.json", "{", "cannot be parsed"),
        ("absent.yaml", None, "Cannot read the params file absent.yaml"),
    ],
)
def test_a_bad_params_file_is_refused_before_anything_is_recorded(
    cmf: Cmf, name: str, text: str | None, message: str
) -> None:
    if text is not None:
        write(name, text)

    @step(cmf=cmf, params_file=name)
    def train() -> None:
        pass

    with pytest.raises(InvalidInputError, match=message):
        train()
    assert executions(cmf) == []


@pytest.mark.parametrize(("name", "text"), [("p.json", '{"lr": 2}'), ("p.toml", "lr = 2\n")])
def test_json_and_toml_params_files_are_read(cmf: Cmf, name: str, text: str) -> None:
    write(name, text)

    @step(cmf=cmf, params_file=name)
    def train(lr: float) -> float:
        return lr

    assert train() == 2
    assert executions(cmf)[0].execution.params == {"lr": 2}


def test_the_decorator_refuses_what_it_cannot_use() -> None:
    with pytest.raises(InvalidInputError, match="decorates a function"):
        step(3)  # type: ignore[call-overload]
    with pytest.raises(InvalidInputError, match="take paths"):
        step(inputs=[3])(lambda: None)  # type: ignore[list-item]


def test_an_async_generator_passes_sent_and_thrown_values_and_may_stop_early(cmf: Cmf) -> None:
    @step(cmf=cmf)
    async def echo() -> AsyncIterator[str]:
        received = "start"
        while True:
            try:
                received = yield received
            except KeyError:
                received = "recovered"

    async def main() -> list[str]:
        stream = echo()
        seen = [await stream.__anext__(), await stream.asend("a")]
        seen.append(await stream.athrow(KeyError()))
        await stream.aclose()
        return seen

    assert asyncio.run(main()) == ["start", "a", "recovered"]
    (detail,) = executions(cmf)
    assert detail.execution.status.value == "completed"
