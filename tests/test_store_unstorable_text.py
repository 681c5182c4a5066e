"""Text a backend refuses never sticks a run: NUL and lone surrogates are escaped when stored.

PostgreSQL refuses NUL in text and neither backend's driver encodes a lone
surrogate (what a file name that is not UTF-8 becomes in Python), so a command or
an exception text holding one would otherwise fail the write that ends the run —
leaving it ``running`` and replacing the user's exception with cmf's own.
"""

from pathlib import Path

import pytest

from cmf_core.errors import InvalidInputError, NotFoundError
from cmf_core.records import ExecutionStatus
from cmf_core.tracking import Cmf


def recorder(store_url: str, root: Path) -> Cmf:
    return Cmf(
        pipeline="p",
        store=store_url,
        project_root=root,
        capture_git=False,
        capture_environment=False,
    )


def test_an_error_and_a_command_with_nul_end_the_run_failed_with_the_users_text(
    store_url: str, tmp_path: Path
) -> None:
    with recorder(store_url, tmp_path) as cmf:
        # The user's own exception comes out, not cmf's.
        with (
            pytest.raises(ValueError, match="bad \x00 byte"),
            cmf.execution("s", command="python x.py --sep '\x00'"),
        ):
            raise ValueError("bad \x00 byte")
        (execution,) = cmf.store.list_executions()
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error == "ValueError: bad \\0 byte"
    assert execution.command == "python x.py --sep '\\0'"


def test_a_lone_surrogate_from_a_file_name_is_stored_as_its_escape(
    store_url: str, tmp_path: Path
) -> None:
    name = b"data/caf\xe9.csv".decode("utf-8", "surrogateescape")
    with recorder(store_url, tmp_path) as cmf:
        run = cmf.start_execution("s", command=f"python x.py {name}")
        run.end("failed", error=f"cannot read {name}")
        execution = cmf.store.get_execution(run.id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error == "cannot read data/caf\\udce9.csv"
    assert execution.command == "python x.py data/caf\\udce9.csv"


@pytest.mark.parametrize("reference", ["ab\x00c", "\x00"])
def test_a_lookup_with_nul_is_bad_input_not_a_store_failure(
    store_url: str, tmp_path: Path, reference: str
) -> None:
    with recorder(store_url, tmp_path) as cmf:
        with cmf.execution("s"):
            pass
        with pytest.raises((InvalidInputError, NotFoundError)) as raised:
            cmf.store.get_execution(reference)
        with pytest.raises((InvalidInputError, NotFoundError)):
            cmf.store.get_artifact_detail(reference)
    assert "Reading the store" not in str(raised.value)
