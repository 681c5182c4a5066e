"""cmflib's methods with no meaning in cmf, and what to do instead.

Each name in :data:`UNSUPPORTED` becomes a method of ``Cmf`` (and
``log_dataslice_from_client`` one of ``DataSlice``) that raises
:class:`~cmf_core.errors.InvalidInputError` saying why and what to call
instead, rather than an ``AttributeError`` that leaves a cmflib user guessing.
mypy still flags them as missing, so type-checked code learns at once.
"""

from collections.abc import Callable
from typing import Any, NoReturn

from cmf_core.errors import InvalidInputError

SYNC = "cmf merges metadata between sites by content digest, not record by record."
_URL = "cmf keeps paths on events and no DVC remote URLs on artifacts."
UNSUPPORTED = {
    "log_dvc_lock": "cmf never commits to Git; commit dvc.lock yourself (runs record the commit).",
    "link_artifacts": "lineage follows each execution's inputs and outputs; log both in one.",
    "update_context": "create_context(stage, custom_properties) merges properties into a stage.",
    "update_dataset_url": _URL,
    "update_model_url": _URL,
    "update_model_output": "use update_existing_artifact(artifact, properties).",
    **dict.fromkeys(
        [
            "merge_created_context",
            "merge_created_execution",
            "log_python_env_from_client",
            "log_dataset_with_version",
            "log_model_with_version",
            "log_execution_metrics_from_client",
            "log_step_metrics_from_client",
            "log_label_with_version",
        ],
        SYNC,
    ),
}


def unsupported(name: str, instead: str) -> Callable[..., NoReturn]:
    """A method named ``name`` that refuses every call, saying ``instead``."""

    def method(self: object, *args: Any, **kwargs: Any) -> NoReturn:
        raise InvalidInputError(
            f"cmflib's {name}() is not supported by cmf: {instead} See docs/cmflib.md."
        )

    method.__name__ = method.__qualname__ = name
    return method
