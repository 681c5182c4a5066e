"""The `cmf` search commands (`--where` filters live on `cmf ls`)."""

import click


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
