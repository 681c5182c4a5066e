"""``cmf skill install``: put cmf's Agent Skill where Claude Code (and agents reading the
same layout) find it (:mod:`cmf_mcp.skill`)."""

from pathlib import Path

import click


@click.group()
def skill() -> None:
    """cmf's Agent Skill: teaches coding agents to record runs and query them."""


@skill.command()
@click.option(
    "--dir",
    "skills_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Skills folder to install into (the skill goes in DIR/cmf/).",
)
@click.option("--user", is_flag=True, help="Install for every project: ~/.claude/skills/cmf/.")
@click.option("--force", is_flag=True, help="Replace another version already there.")
def install(skills_dir: Path | None, user: bool, force: bool) -> None:
    """Install the skill into the project's .claude/skills/cmf/ (the default)."""
    from cmf_core.config import find_project_root
    from cmf_mcp.skill import install_skill

    if skills_dir is not None and user:
        raise click.UsageError("Give --dir or --user, not both.")
    if skills_dir is None:
        base = Path.home() if user else find_project_root()
        skills_dir = base / ".claude" / "skills"
    target, outcome = install_skill(skills_dir, force=force)
    click.echo(f"cmf skill {outcome} in {target}")


def register(cli: click.Group) -> None:
    """Add ``cmf skill`` to ``cli``."""
    cli.add_command(skill)
