"""The `cmf` lineage, trace, impact and export commands.

Human output by default: lineage as an indented tree from the start (a node
met twice is printed once and then referred to), trace and impact as short
sections; ``--json`` prints the record. ``cmf export`` writes JSON, Mermaid,
DOT, OpenLineage events (one JSON object per line) or a PROV-JSON document.
"""

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from cmf_mcp.cli.support import open_store, print_json, settings

if TYPE_CHECKING:
    from cmf_core.graph.lineage import ArtifactNode, ExecutionNode, LineageGraph
    from cmf_core.graph.trace import Impact, Trace

DIRECTIONS = {"up": "upstream", "down": "downstream", "both": "both"}
DIRECTION_CHOICE = click.Choice([*DIRECTIONS, "upstream", "downstream"])
VIEWS = ("mixed", "artifacts", "executions")
GRAPH_FORMATS = ("json", "mermaid", "dot")
F = TypeVar("F", bound=Callable[..., Any])


def _direction(value: str) -> Any:  # a Direction, checked by cmf_core
    return DIRECTIONS.get(value, value)


def depth_option(default: int) -> Callable[[F], F]:
    return click.option(
        "--depth",
        default=default,
        show_default=True,
        type=int,
        help="Hops to walk (artifact → execution is one hop), 1–1000.",
    )


def limit_option(default: int) -> Callable[[F], F]:
    return click.option(
        "--limit", default=default, show_default=True, type=int, help="Most nodes, 1–100000."
    )


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    for command in (lineage_command, trace_command, impact_command, export_command):
        cli.add_command(command)


@click.command(name="lineage")
@click.argument("node")
@click.option("--direction", type=DIRECTION_CHOICE, default="up", show_default=True)
@depth_option(10)
@limit_option(500)
@click.option(
    "--view",
    type=click.Choice(VIEWS),
    default="mixed",
    show_default=True,
    help="mixed, or collapsed to artifacts only or executions only.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", *GRAPH_FORMATS]),
    default="text",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (same as --format json).")
@click.pass_context
def lineage_command(
    ctx: click.Context,
    node: str,
    direction: str,
    depth: int,
    limit: int,
    view: str,
    fmt: str,
    as_json: bool,
) -> None:
    """Lineage of NODE: an artifact (digest, prefix or path) or an execution (id or prefix).

    \b
    cmf lineage models/model.pt                  # what it was made from
    cmf lineage data/raw.csv --direction down    # what was made from it
    cmf lineage 0193a1b2 --format mermaid        # a diagram to paste into Markdown
    """
    from cmf_core.graph.export import to_dot, to_mermaid
    from cmf_core.graph.lineage import lineage

    root = settings(ctx).project_root
    with open_store(ctx) as store:
        graph = lineage(
            store,
            node,
            direction=_direction(direction),
            depth=depth,
            limit=limit,
            view=cast(Any, view),
            project_root=root,
        )
    if as_json or fmt == "json":
        print_json(graph)
    elif fmt == "mermaid":
        click.echo(to_mermaid(graph), nl=False)
    elif fmt == "dot":
        click.echo(to_dot(graph), nl=False)
    else:
        print_tree(graph)


@click.command(name="trace")
@click.argument("artifact")
@depth_option(10)
@limit_option(500)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def trace_command(ctx: click.Context, artifact: str, depth: int, limit: int, as_json: bool) -> None:
    """Where ARTIFACT came from: the runs that made it (code, params, environment) and the
    upstream data down to raw sources. ARTIFACT is a digest, a prefix or a recorded path."""
    from cmf_core.graph.trace import trace

    root = settings(ctx).project_root
    with open_store(ctx) as store:
        found = trace(store, artifact, depth=depth, limit=limit, project_root=root)
    if as_json:
        print_json(found)
    else:
        print_trace(found)


@click.command(name="impact")
@click.argument("artifact")
@depth_option(100)
@limit_option(1000)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def impact_command(
    ctx: click.Context, artifact: str, depth: int, limit: int, as_json: bool
) -> None:
    """What ARTIFACT fed: the runs that consumed it, directly or not, by pipeline and stage,
    and the models at the end. ARTIFACT is a digest, a prefix or a recorded path."""
    from cmf_core.graph.trace import impact

    root = settings(ctx).project_root
    with open_store(ctx) as store:
        found = impact(store, artifact, depth=depth, limit=limit, project_root=root)
    if as_json:
        print_json(found)
    else:
        print_impact(found)


@click.command(name="export")
@click.argument("node", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*GRAPH_FORMATS, "openlineage", "prov"]),
    default="json",
    show_default=True,
)
@click.option(
    "--pipeline", help="Export this pipeline (default: every pipeline, or NODE's lineage)."
)
@click.option("--direction", type=DIRECTION_CHOICE, default="both", show_default=True)
@depth_option(10)
@limit_option(500)
@click.option("--view", type=click.Choice(VIEWS), default="mixed", show_default=True)
@click.option("--namespace", default="cmf", show_default=True, help="OpenLineage namespace.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
@click.pass_context
def export_command(
    ctx: click.Context,
    node: str | None,
    fmt: str,
    pipeline: str | None,
    direction: str,
    depth: int,
    limit: int,
    view: str,
    namespace: str,
    output: Path | None,
) -> None:
    """Export lineage: NODE's graph, or whole pipelines.

    \b
    json, mermaid, dot: NODE's lineage graph, or with --pipeline the pipeline's graph.
    openlineage: run events, one JSON object per line (START, then COMPLETE or FAIL).
    prov: one W3C PROV-JSON document, one record per line, grouped by kind.
    OpenLineage and PROV export NODE's executions, --pipeline's, or every pipeline's,
    streamed: written page by page as the store is read, in flat memory.
    """
    from cmf_core.graph.export import export_lineage

    if fmt in GRAPH_FORMATS and node is None and pipeline is None:
        raise click.UsageError("Name a NODE or a --pipeline to export as a graph.")
    root = settings(ctx).project_root
    with open_store(ctx) as store:
        chunks = export_lineage(
            store,
            fmt,
            node=node,
            pipeline=pipeline,
            direction=_direction(direction),
            depth=depth,
            limit=limit,
            view=cast(Any, view),
            namespace=namespace,
            project_root=root,
        )
        if output is None:
            for chunk in chunks:
                click.echo(chunk, nl=False)
        else:
            with output.open("w", encoding="utf-8") as out:
                out.writelines(chunks)
            click.echo(f"Wrote {output}", err=True)


# -- human output ------------------------------------------------------------------------------


def _label(node: "ArtifactNode | ExecutionNode") -> Any:
    from rich.text import Text

    from cmf_core.graph.lineage import ArtifactNode
    from cmf_mcp.cli import render

    if isinstance(node, ArtifactNode):
        text = Text(f"{node.type.value} ", style="bold")
        text.append(node.digest, style="cyan")
        if node.paths:
            text.append("  " + ", ".join(node.paths[:3]) + (" …" if len(node.paths) > 3 else ""))
        if node.size is not None:
            text.append(f"  {render.size(node.size)}", style="dim")
        return text
    text = Text(f"{node.pipeline}/{node.stage} ", style="bold")
    text.append(node.id, style="magenta")
    text.append("  ")
    text.append(render.status(node.status.value))
    if node.git_commit:
        text.append(f"  {node.git_commit[:10]}{'*' if node.git_is_dirty else ''}", style="dim")
    return text


def _children(links: dict[str, list[str]], key: str, by_key: dict[str, Any]) -> list[str]:
    """The distinct neighbours of ``key``, nearest first, reversed for a stack."""
    return sorted(set(links[key]), key=lambda k: (by_key[k].hop or 0, k), reverse=True)


def print_tree(graph: "LineageGraph") -> None:
    """The graph as indented trees from the start, one per direction walked."""
    from rich.text import Text
    from rich.tree import Tree

    from cmf_mcp.cli import render

    out = render.console()
    by_key = {(n.digest if n.kind == "artifact" else n.id): n for n in graph.nodes}
    before: dict[str, list[str]] = defaultdict(list)
    after: dict[str, list[str]] = defaultdict(list)
    for edge in graph.edges:
        before[edge.target].append(edge.source)
        after[edge.source].append(edge.target)
    nearest = min((n.hop or 0 for n in graph.nodes), default=0)
    roots = (
        [graph.start]
        if graph.start in by_key
        else sorted(k for k, n in by_key.items() if (n.hop or 0) == nearest)
    )
    ways = {"upstream": [("upstream", before)], "downstream": [("downstream", after)]}
    for title, links in ways.get(graph.direction, [*ways["upstream"], *ways["downstream"]]):
        shown: set[str] = set()
        for root in roots:
            tree = Tree(_label(by_key[root]))
            shown.add(root)
            stack = [(tree, child) for child in _children(links, root, by_key)]
            while stack:  # depth first, in display order, so "shown above" is true
                branch, key = stack.pop()
                if key in shown:
                    branch.add(Text(f"↑ {key} (shown above)", style="dim"))
                    continue
                shown.add(key)
                added = branch.add(_label(by_key[key]))
                stack.extend((added, child) for child in _children(links, key, by_key))
            if graph.direction == "both":
                out.print(Text(title, style="bold underline"))
            out.print(tree)
    summary = f"{len(graph.nodes)} nodes, {len(graph.edges)} edges, {graph.depth_reached} hops"
    if graph.truncated_reason == "depth":
        summary += f"; more lies beyond depth {graph.depth} (raise --depth)"
    elif graph.truncated_reason == "limit":
        summary += f"; cut at {graph.limit} nodes (raise --limit)"
    out.print(Text(summary, style="dim"))


def print_trace(found: "Trace") -> None:
    from rich.table import Table
    from rich.text import Text

    from cmf_mcp.cli import render

    out = render.console()
    a = found.artifact
    out.print(Text(f"{a.type.value} {a.digest}", style="bold"), "  " + ", ".join(a.paths))
    if a.is_source:
        out.print("Nothing recorded produced it: it is a raw source.")
    steps = Table(box=None, pad_edge=False, header_style="bold")
    for column in (
        "hop",
        "execution",
        "pipeline/stage",
        "status",
        "commit",
        "params",
        "environment",
    ):
        steps.add_column(column, no_wrap=column in ("execution", "commit"))
    for step in found.executions:
        e = step.execution
        commit = (e.git_commit_start or "")[:10] + ("*" if e.git_is_dirty else "")
        if e.git_commit_end and e.git_commit_end != e.git_commit_start:
            commit += f"→{e.git_commit_end[:10]}"
        mark = " (made it)" if e.id in found.producers else ""
        steps.add_row(
            str(step.hop),
            e.id + mark,
            f"{e.pipeline}/{e.stage}",
            render.status(e.status.value),
            commit,
            ", ".join(f"{k}={v!r}" for k, v in e.params.items())[:80],
            (e.environment_digest or "")[:16],
        )
    if found.executions:
        out.print(Text("executions upstream", style="bold"))
        out.print(steps)
    sources = [x for x in found.artifacts if x.is_source]
    if sources:
        out.print(Text("raw sources", style="bold"))
        for source in sources:
            out.print(f"  {source.type.value} {source.digest}  {', '.join(source.paths)}")
    other = len(found.artifacts) - len(sources)
    summary = f"{len(found.executions)} executions, {other} intermediate artifacts"
    if found.truncated:
        summary += f"; cut by {found.truncated_reason} (raise --{found.truncated_reason})"
    out.print(Text(summary, style="dim"))


def print_impact(found: "Impact") -> None:
    from rich.table import Table
    from rich.text import Text

    from cmf_mcp.cli import render

    out = render.console()
    a = found.artifact
    out.print(Text(f"{a.type.value} {a.digest}", style="bold"), "  " + ", ".join(a.paths))
    if not found.groups:
        out.print("No recorded execution consumed it.")
    grid = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("pipeline", "stage", "executions", "failed", "outputs"):
        grid.add_column(column)
    for group in found.groups:
        failed = sum(1 for e in group.executions if e.status.value == "failed")
        grid.add_row(
            group.pipeline,
            group.stage,
            str(len(group.executions)),
            str(failed or ""),
            str(len(group.outputs)),
        )
    if found.groups:
        out.print(grid)
    if found.end_models:
        out.print(Text("models at the end", style="bold"))
        for model in found.end_models:
            out.print(f"  {model.digest}  {', '.join(model.paths)}")
    summary = f"{found.execution_count} executions, {len(found.artifacts)} artifacts downstream"
    if found.truncated:
        summary += f"; cut by {found.truncated_reason} (raise --{found.truncated_reason})"
    out.print(Text(summary, style="dim"))
