"""log_metrics with a batch of steps: a whole curve in one call, checked whole, written once."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp_support import MODES, connect, make_server, text

from cmf_core.store import Store
from cmf_mcp.mcp.server import CmfServer


@pytest.fixture
def server(bare_project: Path, store_url: str) -> Iterator[CmfServer]:
    made = make_server(store_url)
    yield made
    made.close()


def curve(count: int, *names: str) -> list[dict[str, Any]]:
    return [
        {"step": step, "values": {n: 1 / (step + 1) + i for i, n in enumerate(names)}}
        for step in range(count)
    ]


@pytest.mark.parametrize("mode", MODES)
def test_a_100_epoch_curve_is_one_call_and_one_store_write(
    server: CmfServer, store_url: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with connect(server, mode) as client:
        run = client.ok("start_execution", {"pipeline": "p", "stage": "train"})["execution_id"]
        store = server.state.store
        writes: list[int] = []
        real = store.add_metrics

        def counted(execution_id: str, rows: Any) -> Any:
            writes.append(len(rows))
            return real(execution_id, rows)

        monkeypatch.setattr(store, "add_metrics", counted)
        result = client.call(
            "log_metrics", {"execution_id": run, "steps": curve(100, "loss", "val_loss")}
        )
        assert not result.is_error, text(result)
        logged = result.structured_content or {}
        assert writes == [200]
        assert logged["count"] == 200 and logged["steps"] == 100 and logged["step"] is None
        assert logged["names"] == ["loss", "val_loss"]
        assert "200 metric value(s) over 100 step(s) (0…99)" in text(result)
        history = client.ok("metric_history", {"execution_id": run, "name": "val_loss"})
        client.ok("end_execution", {"execution_id": run})
    assert history["count"] == 100 and history["last_step"] == 99
    with Store(store_url) as reader:
        recorded = reader.get_metrics(run, name="loss")
    assert sorted(m.step for m in recorded if m.step is not None) == list(range(100))


def test_the_one_step_form_still_works_and_a_batch_resent_is_harmless(
    server: CmfServer,
) -> None:
    with connect(server) as client:
        run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
        one = client.ok("log_metrics", {"execution_id": run, "metrics": {"acc": 0.5}})
        assert one["steps"] is None and one["count"] == 1
        steps = curve(3, "loss")
        client.ok("log_metrics", {"execution_id": run, "steps": steps})
        client.ok("log_metrics", {"execution_id": run, "steps": steps})
        changed = [{"step": 1, "values": {"loss": 42.0}}]
        assert "never overwritten" in client.error(
            "log_metrics", {"execution_id": run, "steps": changed}
        )


def test_both_or_neither_form_and_bad_batches_are_refused_clearly(server: CmfServer) -> None:
    with connect(server) as client:
        run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
        neither = client.error("log_metrics", {"execution_id": run})
        assert "needs metrics" in neither and "or steps" in neither and "neither" in neither
        both = client.error(
            "log_metrics", {"execution_id": run, "metrics": {"a": 1}, "steps": curve(1, "a")}
        )
        assert "not both" in both
        stepped = client.error(
            "log_metrics", {"execution_id": run, "step": 3, "steps": curve(1, "a")}
        )
        assert "Leave step out" in stepped
        twice = client.error(
            "log_metrics",
            {"execution_id": run, "steps": [{"step": 2, "values": {"a": 1}}] * 2},
        )
        assert "step 2 appears twice" in twice
        too_many = client.error("log_metrics", {"execution_id": run, "steps": curve(1_001, "a")})
        assert "Invalid arguments for log_metrics: steps" in too_many
        wide = [{"step": 0, "values": {f"m{i}": 1.0 for i in range(101)}}]
        assert "steps.0.values" in client.error("log_metrics", {"execution_id": run, "steps": wide})
        heavy = client.error(
            "log_metrics", {"execution_id": run, "steps": curve(1_000, *"abcdefghijk")}
        )
        assert "11,000 values" in heavy and "Split the batch" in heavy
        bad = [{"step": -1, "values": {"a": 1}}, {"step": 0, "values": {}}]
        message = client.error("log_metrics", {"execution_id": run, "steps": bad})
        assert "steps.0.step" in message and "steps.1.values" in message
        extra = client.error(
            "log_metrics", {"execution_id": run, "steps": [{"step": 0, "value": {"a": 1}}]}
        )
        assert "steps.0" in extra
        detail = client.ok("get_execution", {"execution_id": run})
    assert detail["metrics"] == {} and detail["step_metrics"] == {}, "nothing refused recorded"
