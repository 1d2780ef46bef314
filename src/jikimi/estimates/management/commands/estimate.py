"""`jikimi estimate PATH [--method …] [--level 0.95] [--seed N] [--json] [--records]`.

Exit codes (DESIGN §8): 0 success; 2 bad input, naming the file, row and column; 3 no finite
estimate exists (the message says which lists fail to overlap); 1 any other failure.

The arguments and the work are in ``jikimi.estimates.command``, which needs no Django: the
console script runs it without ``django.setup()`` (``jikimi.cli``); this command is the same
through Django (`call_command("estimate", …)`, `jikimi estimate --settings …`).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jikimi.estimates import command


class Command(BaseCommand):
    help = command.HELP
    # Pure computation on a file: no database, so skip the system checks that would open one.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        command.add_arguments(parser)

    def handle(self, *args, **options):
        try:
            self.stdout.write(command.run(options))
        except command.EstimateFailed as exc:
            raise CommandError(str(exc), returncode=exc.returncode) from exc
