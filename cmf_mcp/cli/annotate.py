"""`cmf annotate REF key=value … [-m TEXT]`, and the labels and notes `cmf show` prints."""

from typing import TYPE_CHECKING, Any

import click

from cmf_mcp.cli.support import open_store, print_json, settings

if TYPE_CHECKING:
    from cmf_core.records import ArtifactDetail, ExecutionDetail
    from cmf_core.store import Store

NOTE_KEY = "note"  # the key of a note given without any key=value
NOTES_SHOWN = 20  # the newest annotations `cmf show` prints; --json gives them all


def register(cli: click.Group) -> None:
    """Add ``cmf annotate`` to ``cli``."""
    cli.add_command(annotate)


def _pairs(texts: tuple[str, ...]) -> list[tuple[str, str | None]]:
    pairs = []
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep:
            raise click.BadParameter(
                f"{text!r} is not KEY=VALUE (e.g. quality=bad; KEY= clears a label).",
                param_hint="LABELS",
            )
        pairs.append((key.strip(), value.strip() or None))
    return pairs


@click.command()
@click.argument("reference")
@click.argument("labels", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("-m", "--message", "note", metavar="TEXT", help="A note (why, what was seen).")
@click.option("--author", metavar="NAME", help="Who says so (default: Git's user.name).")
@click.option("--json", "as_json", is_flag=True, help="Print the recorded annotations as JSON.")
@click.pass_context
def annotate(
    ctx: click.Context,
    reference: str,
    labels: tuple[str, ...],
    note: str | None,
    author: str | None,
    as_json: bool,
) -> None:
    """Label or note an execution or artifact after the fact (append-only).

    REFERENCE is an execution id, a digest (or a unique prefix) or a recorded path.
    A later label with the same KEY supersedes an earlier one; the history keeps both.
    KEY= (no value) clears a label; -m alone records a note.

    \b
    cmf annotate data/raw.csv quality=bad -m "label noise in batch 3"
    cmf annotate 0190ab stage=prod
    cmf ls artifacts --where 'labels.quality = "bad"'
    """
    from cmf_core.annotate import annotate as record
    from cmf_core.annotate import check_annotation, default_author

    pairs = _pairs(labels)
    if not pairs and note is None:
        raise click.UsageError("Give at least one KEY=VALUE or a note with -m TEXT.", ctx)
    pairs = pairs or [(NOTE_KEY, None)]
    for key, value in pairs:  # every pair checked before any is recorded
        check_annotation(key, value, note)
    found = settings(ctx)
    with open_store(ctx) as store:
        who = author or default_author(found.project_root)
        recorded = [
            record(
                store,
                reference,
                key,
                value,
                note=note,
                author=who,
                project_root=found.project_root,
            )
            for key, value in pairs
        ]
    if as_json:
        print_json(recorded)
        return
    first = recorded[0]
    said = ", ".join(
        f"{a.key} = {a.value}" if a.value is not None else f"{a.key} cleared"
        for a in recorded
        if a.key != NOTE_KEY or a.value is not None
    )
    what = "; ".join(part for part in (said, f"note: {note}" if note else "") if part)
    click.echo(f"Annotated {first.target_kind} {first.target_key}: {what} (by {first.author}).")


def annotations_of(store: "Store", detail: "ExecutionDetail | ArtifactDetail") -> dict[str, Any]:
    """``labels`` (current) and ``annotations`` (history, oldest first) of a shown record;
    empty when it has none."""
    from cmf_core.annotate import annotation_history
    from cmf_core.records import ExecutionDetail

    if isinstance(detail, ExecutionDetail):
        history = annotation_history(store, "execution", detail.execution.id)
    else:
        history = annotation_history(store, "artifact", detail.artifact.digest)
    if not history:
        return {}
    labels = {a.key: a.value for a in history}
    return {
        "labels": {k: v for k, v in sorted(labels.items()) if v is not None},
        "annotations": [a.model_dump(mode="json") for a in history],
    }


def print_annotations(found: dict[str, Any]) -> None:
    """The labels and the newest notes, under the detail ``cmf show`` printed."""
    from datetime import datetime

    from cmf_mcp.cli.render import console, when

    if not found:
        return
    out = console()
    if found["labels"]:
        labels = ", ".join(f"{k} = {v}" for k, v in found["labels"].items())
        out.print(f"labels  {labels}", markup=False)
    history = found["annotations"]
    shown = history[-NOTES_SHOWN:]
    out.print(f"annotations ({len(history)}, newest last)", markup=False)
    if len(history) > len(shown):
        older = len(history) - len(shown)
        out.print(f"  … {older} older (cmf show --json lists every one)", markup=False)
    for a in shown:
        said = a["key"] + (f" = {a['value']}" if a["value"] is not None else " cleared")
        if a["key"] == NOTE_KEY and a["value"] is None:
            said = "note"
        at = when(datetime.fromisoformat(a["recorded_at"]))
        note = f" — {a['note']}" if a["note"] else ""
        out.print(f"  {at}  {a['author']}: {said}{note}", markup=False)
