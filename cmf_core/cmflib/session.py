"""The current stage and execution of a cmflib-style script.

Like cmflib, a ``Cmf`` has one current stage (context) and one current execution;
a log call before ``create_context`` / ``create_execution`` makes both, named
after the script. As in cmflib, ``finalize()`` records the code version (HEAD,
as the property ``git_commit_finalize``; cmf makes no Git commit) and leaves the
execution open, so metrics logged after it still belong to it. The current
execution ends at the next ``create_execution``, at ``Cmf.close()``, or at
interpreter exit: completed, or failed with the error if an uncaught exception
ended the script. With ``create_new_execution=False`` a running execution of the
same stage and type is reused, from this ``Cmf`` or from the store.

``create_context`` and ``create_execution`` return :class:`CmflibContext` and
:class:`CmflibExecution` where cmflib returns mlmd's Context and Execution, with
the attributes scripts read from those (``id``, ``name``, ``type``,
``properties``, ``custom_properties``).
"""

import atexit
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from cmf_core.cmflib.arguments import Props, plain, script_stage
from cmf_core.errors import CmfError, ConflictError, InvalidInputError
from cmf_core.recorder import Recorder
from cmf_core.records import Execution, ExecutionStatus
from cmf_core.run import Run


@dataclass(frozen=True)
class CmflibContext:
    """What ``create_context`` returns for cmflib's mlmd Context: ``id`` is the stage's id,
    ``name`` is ``<pipeline>/<stage>`` as cmflib names it, ``type`` is cmflib's context type,
    ``custom_properties`` the stage's properties."""

    id: int
    name: str
    pipeline: str
    stage: str
    type: str = "Pipeline_Stage"
    custom_properties: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def properties(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "stage": self.stage}


@dataclass(frozen=True)
class CmflibExecution:
    """What ``create_execution`` returns for cmflib's mlmd Execution: ``id`` is the execution
    id (a UUID string where cmflib has an int), ``name`` the ``execution_type`` given, ``type``
    the stage's context name (``<pipeline>/<stage>``), ``custom_properties`` the params and
    ``properties`` cmflib's execution properties (``Execution`` is the command,
    ``Git_Start_Commit``, ``Git_Repo``, ``Pipeline_Type``, ``Context_Type``,
    ``Execution_uuid``) as recorded at the start."""

    id: str
    name: str
    pipeline: str
    stage: str
    custom_properties: dict[str, Any] = field(default_factory=dict, compare=False)
    properties: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def type(self) -> str:
        return f"{self.pipeline}/{self.stage}"


@dataclass
class CurrentExecution:
    """The current cmflib-style execution and the step-metric rows cmflib keeps for it."""

    run: Run
    execution: CmflibExecution
    rows: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    series: dict[str, str] = field(default_factory=dict)  # step-metric key -> its metrics_name


class CmflibSession(Recorder):
    """A :class:`~cmf_core.recorder.Recorder` with cmflib's current stage and execution
    (see the module docstring)."""

    _cmflib_context: CmflibContext | None = None  # the current stage, once there is one
    _cmflib_current: "CurrentExecution | None" = None  # the current execution, once there is one

    def close(self) -> None:
        """End an open cmflib-style execution, then close the store if this Cmf opened it."""
        try:
            self._end_current()
        finally:
            super().close()

    # -- stages and executions ---------------------------------------------------------------

    def create_context(self, pipeline_stage: str, custom_properties: Props = None) -> CmflibContext:
        """Make ``pipeline_stage`` the current stage (created if new; properties merged)."""
        pipeline = self.pipeline or Path.cwd().name  # cmflib's name for an unnamed one
        properties = plain(custom_properties) or None
        stage_id = self.stage_id(pipeline_stage, pipeline=pipeline, properties=properties)
        context = CmflibContext(
            stage_id,
            f"{pipeline}/{pipeline_stage}",
            pipeline,
            pipeline_stage,
            custom_properties=properties or {},
        )
        self._cmflib_context = context
        return context

    def create_execution(
        self,
        execution_type: str,
        custom_properties: Props = None,
        cmd: str | None = None,
        create_new_execution: bool = True,
    ) -> CmflibExecution:
        """Start an execution of the current stage; ``custom_properties`` become its params.

        The previous cmflib-style execution, if open, is ended as completed. With
        ``create_new_execution=False`` a running execution of this stage and
        ``execution_type`` (this ``Cmf``'s, else one in the store) is reused and the
        params merged into it. ``cmd`` defaults to the script's command line.
        """
        if not isinstance(execution_type, str) or not execution_type.strip():
            raise InvalidInputError(
                "create_execution needs an execution_type, e.g. execution_type='Train-execution'."
            )
        context = self._cmflib_context or self.create_context(script_stage())
        params = plain(custom_properties)
        current = None if create_new_execution else self._reusable(context, execution_type)
        if current is not None:
            if params:
                current.run.log_params(params)
                current.execution = cmflib_execution(current.run.execution, execution_type)
            return current.execution
        self._end_current()
        run = self.start_execution(
            context.stage,
            pipeline=context.pipeline,
            params=params,
            properties={"execution_type": execution_type},
            command=cmd,
        )
        return self._adopt(run, context, execution_type).execution

    def _reusable(self, context: CmflibContext, execution_type: str) -> CurrentExecution | None:
        current = self._cmflib_current
        if current is not None and (
            current.execution.id,
            current.execution.name,
            current.execution.pipeline,
            current.execution.stage,
        ) == (current.run.id, execution_type, context.pipeline, context.stage):
            return current
        running = self.store.list_executions(
            pipeline=context.pipeline, stage=context.stage, status=ExecutionStatus.RUNNING
        )
        for found in running:
            if found.properties.get("execution_type") == execution_type:
                self._end_current()
                return self._adopt(self.attach(found.id), context, execution_type)
        return None

    def _adopt(self, run: Run, context: CmflibContext, execution_type: str) -> CurrentExecution:
        execution = cmflib_execution(run.execution, execution_type)
        self._cmflib_current = CurrentExecution(run, execution)
        atexit.unregister(self._end_at_exit)
        atexit.register(self._end_at_exit)
        return self._cmflib_current

    def _current(self) -> CurrentExecution:
        if self._cmflib_current is None:  # cmflib names both after the script
            self.create_execution(script_stage())
        return cast(CurrentExecution, self._cmflib_current)

    def update_execution(
        self, execution_id: str, custom_properties: Props = None
    ) -> CmflibExecution:
        """Merge ``custom_properties`` into the params of a running execution (id or prefix)."""
        current = self._cmflib_current
        if current is not None and current.run.id == execution_id:
            run = current.run
        else:
            run = self.attach(str(execution_id))
        params = plain(custom_properties)
        if params:
            run.log_params(params)
        record = run.execution
        name = str(record.properties.get("execution_type", record.stage))
        execution = cmflib_execution(record, name)
        if current is not None and run is current.run:
            current.execution = execution
        return execution

    def finalize(self) -> None:
        """Write buffered metrics and record HEAD as the current execution's
        ``git_commit_finalize``; the execution stays open, as in cmflib.

        cmflib's ``finalize`` commits the code; cmf makes no Git commit. The
        execution ends at the next ``create_execution``, ``close()`` or exit. Safe
        to repeat or with nothing started.
        """
        current = self._cmflib_current
        if current is None:
            return
        if current.run.execution.status is not ExecutionStatus.RUNNING:
            self._end_current()  # another Cmf has ended it: nothing left to record
            return
        current.run.flush()
        commit = self._provenance.head_commit()
        if commit is not None:
            current.run.set_properties({"git_commit_finalize": commit})

    def _end_current(self) -> None:
        """End the current cmflib-style execution as completed, writing buffered metrics."""
        atexit.unregister(self._end_at_exit)
        self._end(None)

    def _end_at_exit(self) -> None:
        try:  # sys.last_value is set when an uncaught exception ended the script
            self._end(getattr(sys, "last_value", None))
        except CmfError as exc:
            print(f"cmf: could not end a cmflib-style execution at exit: {exc}", file=sys.stderr)

    def _end(self, error: BaseException | None) -> None:
        current, self._cmflib_current = self._cmflib_current, None
        if current is None:
            return
        try:
            if error is None:
                current.run.end()
            else:
                current.run.end(ExecutionStatus.FAILED, error=f"{type(error).__name__}: {error}")
        except ConflictError:
            if current.run.execution.status is ExecutionStatus.RUNNING:
                raise  # a real conflict (a metric), not another Cmf having ended it already


def cmflib_execution(record: Execution, execution_type: str) -> CmflibExecution:
    """The :class:`CmflibExecution` of a recorded execution started as ``execution_type``."""
    properties = {
        "Context_Type": f"{record.pipeline}/{record.stage}",
        "Execution": record.command or "",
        "Execution_uuid": record.id,
        "Git_Repo": record.git_remote or "",
        "Git_Start_Commit": record.git_commit_start or "",
        "Pipeline_Type": record.pipeline,
    }
    return CmflibExecution(
        record.id,
        execution_type,
        record.pipeline,
        record.stage,
        custom_properties=dict(record.params),
        properties=properties,
    )
