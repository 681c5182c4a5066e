"""`cmf log metric|param|artifact`: record into the execution of the `cmf run` around a script.

Each command checks what it is given and appends one line to the run's
``CMF_METRICS_FILE`` (``MetricsFile``), which ``cmf run`` records as it arrives.
"""

import json
from pathlib import Path
from typing import Any

import click

from cmf_core.vocabulary import LOGGABLE_TYPES


def register(cli: click.Group) -> None:
    """Add ``cmf log`` to ``cli``."""
    cli.add_command(log)


def _pairs(texts: tuple[str, ...], example: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for text in texts:
        name, sep, raw = text.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{text!r} is not NAME=VALUE (e.g. {example}).")
        try:
            found[name] = json.loads(raw)
        except json.JSONDecodeError:
            found[name] = raw
        except (ValueError, RecursionError):  # thousands of digits; JSON nested too deep
            raise click.BadParameter(
                f"the value of {name!r} is too large or nested too deep to record."
            ) from None
    return found


@click.group()
def log() -> None:
    """Record into the execution of the `cmf run` around this script.

    \b
    cmf run --pipeline fraud --stage train -- bash train.sh
      # in train.sh:
      cmf log param lr=0.01 epochs=10
      cmf log metric loss=0.41 --step 3
      cmf log metric accuracy=0.93
      cmf log artifact models/model.pkl --type model
    """


@log.command()
@click.argument("values", nargs=-1, required=True, metavar="NAME=NUMBER…")
@click.option("--step", type=click.IntRange(min=0), help="A step of the series (loss per epoch).")
def metric(values: tuple[str, ...], step: int | None) -> None:
    """Record metrics: with --step, one step of each series; without, execution-level."""
    from cmf_core.protocol.client import MetricsFile

    with MetricsFile.from_environment() as out:
        out.log_metrics(_pairs(values, "loss=0.41"), step=step)


@log.command()
@click.argument("values", nargs=-1, required=True, metavar="NAME=VALUE…")
def param(values: tuple[str, ...]) -> None:
    """Merge parameters into the execution's (values are JSON, else text)."""
    from cmf_core.protocol.client import MetricsFile

    with MetricsFile.from_environment() as out:
        out.log_params(_pairs(values, "lr=0.01"))


@log.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--type", "type_", type=click.Choice(LOGGABLE_TYPES), help="Artifact type.")
@click.option("--input", "is_input", is_flag=True, help="The script read it (default: wrote it).")
def artifact(path: Path, type_: str | None, is_input: bool) -> None:
    """Record the file or directory at PATH as an output (or --input) of the execution."""
    from cmf_core.protocol.client import MetricsFile

    with MetricsFile.from_environment() as out:
        out.log_artifact(path, type=type_, event="input" if is_input else "output")
