"""The `cmf` compare, metrics and reproduce commands."""

import click


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
