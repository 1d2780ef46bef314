from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jikimi.accounts.models import Organisation
from jikimi.people.importer import ImportFileError, import_people


class Command(BaseCommand):
    help = (
        "Import person records (CSV or XLSX, DESIGN §8) into an organisation. All rows "
        "or none: any bad row is reported and nothing is written (exit 2)."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["people"])
        parser.add_argument("path")
        parser.add_argument("--org", required=True, help="the organisation's slug")

    def handle(self, *args, kind, path, org, **opts):
        organisation = Organisation.objects.filter(slug=org).first()
        if organisation is None:
            raise CommandError(
                f"no organisation {org!r}: create it with `jikimi init --org {org}`", returncode=2
            )
        try:
            result = import_people(Path(path), organisation)
        except ImportFileError as exc:
            raise CommandError(str(exc), returncode=2)
        if result.problems:
            for problem in result.problems:
                self.stderr.write(f"{path}: {problem}")
            raise CommandError(
                f"{path}: {len(result.problems)} problem(s); nothing was imported", returncode=2
            )
        self.stdout.write(f"{path}: imported {result.created} people into {org}")
