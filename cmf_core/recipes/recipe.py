"""Reproduce an execution: the recipe as data, and a POSIX shell script that follows it.

::

    recipe = reproduce(store, "0193a1b2")      # commit, inputs to fetch, command, params, env
    print(reproduce_script(recipe, source_root=project_root))

The script never touches the user's work tree. It checks the commit out into
a *new* directory — ``git worktree add`` from the project's repository when
that has the commit, else a fresh clone of the recorded remote — then puts
each input in place and checks its digest (``cmf artifact pull`` does not
exist yet: an input missing from the checkout is copied from the project
folder when the copy there still has the recorded digest; otherwise the
script says where the bytes must come from and stops), writes the recorded
environment as a requirements file beside the new directory, runs the
recorded command from the project root, and checks every output's digest
against the recorded one. Digests are computed with cmf when the script's
Python (``CMF_PYTHON``, default ``python3``) can import it, else with
``md5sum`` / ``md5`` for files (a directory's digest needs cmf).

The command is the one recorded: what ``cmf run`` ran, or for a script using
the Python API its ``sys.argv`` (so ``train.py --lr 0.1`` is run as
``"$python" train.py --lr 0.1``). It is run from the project root, where
``cmf run`` is normally started.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from cmf_core.records import EventDirection, Execution, ExecutionStatus, Record

if TYPE_CHECKING:
    from cmf_core.store import Store


class RecipeInput(Record):
    """An input to put in place: its bytes are ``digest``; ``producer`` wrote them (None: a
    source no recorded execution wrote)."""

    path: str
    digest: str
    type: str
    size: int | None
    nfiles: int | None
    producer: str | None
    producer_stage: str | None


class RecipeOutput(Record):
    path: str
    digest: str
    type: str


class RecipeEnvironment(Record):
    digest: str
    python: str | None
    implementation: str | None
    platform: str | None
    requirements: list[str]
    """``name==version`` for every recorded distribution, as pip reads them."""


class Recipe(Record):
    """What it takes to run an execution again."""

    execution_id: str
    pipeline: str
    stage: str
    status: ExecutionStatus
    started_at: datetime
    commit: str | None
    """The commit to check out: the one the run started at."""
    branch: str | None
    remote: str | None
    is_dirty: bool | None
    diff_digest: str | None
    command: str | None
    params: dict[str, Any]
    inputs: list[RecipeInput]
    outputs: list[RecipeOutput]
    environment: RecipeEnvironment | None
    warnings: list[str]
    """What keeps the recipe from reproducing the run exactly, one sentence each."""


def reproduce(store: "Store", execution: str) -> Recipe:
    """The recipe of ``execution`` (id or unique prefix)."""
    run = store.get_executions([execution])[0]
    events = store.get_events([run.id])[run.id]
    inputs = [e for e in events if e.direction is EventDirection.INPUT]
    made = store.producers(e.artifact.digest for e in inputs)
    environment = _environment(store, run.environment_digest)
    recipe_inputs = []
    for e in inputs:
        producer = _producer(made.get(e.artifact.digest, []), run)
        recipe_inputs.append(
            RecipeInput(
                path=e.path,
                digest=e.artifact.digest,
                type=e.artifact.type.value,
                size=e.artifact.size,
                nfiles=e.artifact.nfiles,
                producer=producer.id if producer else None,
                producer_stage=f"{producer.pipeline}/{producer.stage}" if producer else None,
            )
        )
    return Recipe(
        execution_id=run.id,
        pipeline=run.pipeline,
        stage=run.stage,
        status=run.status,
        started_at=run.started_at,
        commit=run.git_commit_start,
        branch=run.git_branch,
        remote=run.git_remote,
        is_dirty=run.git_is_dirty,
        diff_digest=run.git_diff_digest,
        command=run.command,
        params=run.params,
        inputs=recipe_inputs,
        outputs=[
            RecipeOutput(path=e.path, digest=e.artifact.digest, type=e.artifact.type.value)
            for e in events
            if e.direction is EventDirection.OUTPUT
        ],
        environment=environment,
        warnings=_warnings(run, environment),
    )


def _producer(candidates: list[Execution], consumer: Execution) -> Execution | None:
    others = [c for c in candidates if c.id != consumer.id]
    before = [c for c in others if c.started_at <= consumer.started_at]
    return (before or others)[-1] if others else None


def _environment(store: "Store", digest: str | None) -> RecipeEnvironment | None:
    if digest is None:
        return None
    artifact = store.get_artifacts([digest]).get(digest)
    document = artifact.properties if artifact else {}
    python = document.get("python") or {}
    described = document.get("platform") or {}
    platform = " ".join(str(described[k]) for k in ("system", "machine") if described.get(k))
    if described.get("libc"):
        platform += f" ({described['libc']})"
    packages = document.get("packages") or {}
    return RecipeEnvironment(
        digest=digest,
        python=python.get("version"),
        implementation=python.get("implementation"),
        platform=platform or None,
        requirements=[f"{name}=={version}" for name, version in sorted(packages.items())],
    )


def _warnings(run: Execution, environment: RecipeEnvironment | None) -> list[str]:
    said = []
    if run.git_commit_start is None:
        said.append(
            "No Git commit was recorded (the project was not a Git repository, or Git capture "
            "was off), so the code cannot be checked out: use the code the run ran."
        )
    elif run.git_is_dirty:
        said.append(
            f"The run was made with uncommitted changes (diff {run.git_diff_digest or 'unknown'}"
            f"); commit {run.git_commit_start} without them cannot reproduce it exactly."
        )
    if run.git_commit_end and run.git_commit_start and run.git_commit_end != run.git_commit_start:
        said.append(
            f"HEAD moved from {run.git_commit_start} to {run.git_commit_end} during the run; "
            "the recipe uses the commit it started at."
        )
    if run.status is ExecutionStatus.FAILED:
        said.append(f"The run failed ({run.error or 'no error recorded'}); it may fail again.")
    elif run.status is ExecutionStatus.RUNNING:
        said.append("The run never ended (still running, or killed): its outputs may be missing.")
    if not run.command:
        said.append("No command was recorded; run the stage the way it was run.")
    if environment is None:
        said.append("No environment was recorded; install what the code needs yourself.")
    elif not environment.requirements and environment.python is None:
        said.append(f"The environment {environment.digest} is not in the store.")
    return said


# -- the script ------------------------------------------------------------------------------


__all__ = ["Recipe", "RecipeEnvironment", "RecipeInput", "RecipeOutput", "reproduce"]
