"""``Cmf`` and ``Run``: the façade training scripts call to record executions.

::

    from cmf_core import Cmf

    cmf = Cmf(pipeline="fraud")                       # store found from the project root
    with cmf.execution(stage="train", params={"lr": 0.01}) as run:
        run.log_dataset("data/train.csv", event="input")
        ...
        run.log_metric("loss", 0.31, step=1)          # buffered, written in batches
        run.log_model("models/model.pkl", event="output")
        run.log_metrics({"accuracy": 0.93})           # execution-level

Leaving the block marks the execution ``completed``; an exception marks it
``failed`` with the error text and propagates. Every call writes through at
once (one short transaction), so a process killed mid-run leaves a consistent
store with the execution visible as ``running``.

``Cmf`` is assembled from three layers, each importing only the one below:
:class:`~cmf_core.recorder.Recorder` (store, project, Git and environment
capture, stages; starts runs), :class:`~cmf_core.cmflib.writer.CmflibMethods`
(the cmflib-compatible methods: ``create_context``, ``create_execution``,
``log_dataset(url, event, …)``, …) and, here, the constructor that accepts
cmflib's arguments too. :class:`~cmf_core.run.Run` records one execution.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmf_core.cmflib.arguments import separate_store
from cmf_core.cmflib.writer import CmflibMethods
from cmf_core.errors import InvalidInputError
from cmf_core.run import METRIC_BUFFER, METRIC_MAX_AGE_S, Run
from cmf_core.validation import json_mapping

if TYPE_CHECKING:  # the store (and SQLAlchemy) is imported on first use
    from collections.abc import Mapping

    from cmf_core.store import Store
    from cmf_core.store.annotations import Annotation


class Cmf(CmflibMethods):
    """Records executions of one pipeline's stages into a store.

    ``store`` is a URL, an open :class:`~cmf_core.store.Store`, or None to use
    the project's store (``CMF_STORE_URL``, ``.cmf/config.toml``, else
    ``.cmf/metadata.db`` under the project root).

    The first five parameters are cmflib's, so ``Cmf(filepath="mlmd",
    pipeline_name="fraud")`` works as it does there, recording into the
    project's store so that ``cmf ls``, ``cmf trace`` and the MCP server see the
    runs: ``filepath`` names a separate store only when it is a store URL
    (``sqlite:///runs.db``) or a path ending in ``.db``
    (:func:`~cmf_core.cmflib.arguments.separate_store`);
    ``pipeline_name`` is ``pipeline``, ``custom_properties`` are the
    pipeline's properties; ``graph`` and ``is_server`` are accepted and ignored
    (lineage is always queryable; there is no separate server mode). See
    :mod:`cmf_core.cmflib.writer` for the cmflib methods.

    Logged artifacts' bytes are kept in the project's content store as the
    settings say (:mod:`cmf_core.artifacts.keeper`); ``track_with_dvc`` also
    writes a ``.dvc`` file beside each, as ``dvc add`` would.
    """

    def __init__(
        self,
        filepath: str | Path | None = None,
        pipeline_name: str | None = None,
        custom_properties: "Mapping[str, Any] | None" = None,
        graph: bool = False,
        is_server: bool = False,
        *,
        pipeline: str | None = None,
        store: "str | Store | None" = None,
        project_root: str | Path | None = None,
        site: str | None = None,
        properties: "Mapping[str, Any] | None" = None,
        capture_git: bool = True,
        capture_environment: bool = True,
        git_refresh_s: float = 2.0,
        track_with_dvc: bool = False,
    ) -> None:
        del graph, is_server  # cmflib options with no meaning here (see the docstring)
        if filepath is not None and store is not None:
            raise InvalidInputError("Give either filepath (a SQLite file) or store, not both.")
        if filepath is not None:
            store = separate_store(filepath)
        super().__init__(
            pipeline=pipeline or pipeline_name,
            store=store,
            project_root=project_root,
            site=site,
            properties={
                **json_mapping(custom_properties, "custom_properties"),
                **json_mapping(properties, "properties"),
            },
            capture_git=capture_git,
            capture_environment=capture_environment,
            git_refresh_s=git_refresh_s,
            track_with_dvc=track_with_dvc,
        )

    def annotate(
        self,
        ref: str,
        key: str,
        value: str | None = None,
        *,
        note: str | None = None,
        author: str | None = None,
    ) -> "Annotation":
        """Label (``key = value``) or note an execution or artifact after the fact.

        ``ref`` is an execution id, a digest (or unique prefix of either) or a recorded
        path. Append-only: a later annotation of the same key supersedes this one when
        reading, and both stay in the history; no value clears the label. ``author``
        defaults to Git's ``user.name``, else the OS user. See :mod:`cmf_core.annotate`.
        """
        from cmf_core.annotate import annotate

        return annotate(
            self.store, ref, key, value, note=note, author=author, project_root=self.project_root
        )


# The public home of Cmf and Run (and of the limits on buffered step metrics).
__all__ = ["METRIC_BUFFER", "METRIC_MAX_AGE_S", "Cmf", "Run"]
