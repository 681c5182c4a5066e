"""Schemathesis against the server's own /openapi.json: no input gives a 5xx."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from cmf_core.auth import create_token
from cmf_core.store import Store
from cmf_mcp.http.app import create_app

SECRET: dict[str, str] = {}


@pytest.fixture
def api(sqlite_url: str, tmp_path: Path) -> Iterator[schemathesis.BaseSchema]:
    project = tmp_path / "project"
    (project / ".cmf").mkdir(parents=True)
    with Store(sqlite_url) as store:
        SECRET["admin"] = create_token(store, "fuzz", "admin")[1]
    app = create_app(sqlite_url, project_root=project, mcp=False)
    with TestClient(app):  # runs the lifespan: the store is open
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_request_makes_the_server_fail(api: schemathesis.BaseSchema) -> None:
    headers = {"Authorization": f"Bearer {SECRET['admin']}"}
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def no_5xx(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        no_5xx()
