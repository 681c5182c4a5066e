"""The `cmf` lineage, trace, impact and export commands."""

import click


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
