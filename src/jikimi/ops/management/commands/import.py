"""`jikimi import KIND PATH --org SLUG` (DESIGN §8): the importers the apps registered."""

from pathlib import Path

from django.core.management.base import CommandError

from jikimi.accounts.models import Organisation
from jikimi.core.commands import OperatorCommand
from jikimi.core.importers import ImportFileError, importers


class Command(OperatorCommand):
    help = (
        "Import a file (CSV or XLSX, DESIGN §8) into an organisation. All rows or none: "
        "any bad row is reported and nothing is written (exit 2)."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=list(importers()), help="what the file holds")
        parser.add_argument("path")
        parser.add_argument("--org", required=True, help="the organisation's slug")

    def handle(self, *args, kind, path, org, **opts):
        importer = importers()[kind]
        organisation = Organisation.objects.filter(slug=org).first()
        if organisation is None:
            raise CommandError(
                f"no organisation {org!r}: create it with `jikimi init --org {org}`", returncode=2
            )
        try:
            result = importer.run(Path(path), organisation)
        except ImportFileError as exc:
            raise CommandError(str(exc), returncode=2)
        if result.problems:
            for problem in result.problems:
                self.stderr.write(f"{path}: {problem}")
            raise CommandError(
                f"{path}: {len(result.problems)} problem(s); nothing was imported", returncode=2
            )
        self.stdout.write(f"{path}: imported {result.created} {importer.noun} into {org}")
