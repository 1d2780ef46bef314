"""The base of the `jikimi` commands that do not serve."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class OperatorCommand(BaseCommand):
    """A command an operator runs beside the server (monitor, import, backup, audit …).

    Django's system checks import every URL module and so every view (with pandas, SciPy and
    numba: seconds of start-up) to check what only serving uses; these commands skip them by
    default (`--skip-checks` is still accepted). `jikimi serve`, `web` and `init` keep them.
    """

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.set_defaults(skip_checks=True)
        return parser
