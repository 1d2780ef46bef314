from django.core.management.base import CommandError

from jikimi.core import filestore
from jikimi.core.commands import OperatorCommand
from jikimi.core.keyring import KeyRingError


class Command(OperatorCommand):
    help = (
        "Evidence store. `jikimi evidence verify`: decrypt and re-hash every stored evidence "
        "file; exit 0 when all match their recorded SHA-256, 1 naming each that does not."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, action: str, **opts):
        try:
            report = filestore.verify_all()
        except KeyRingError as exc:
            raise CommandError(str(exc), returncode=1)
        for file_id in report.orphans:
            self.stderr.write(
                f"warning: {filestore.path_of(file_id)} is in the store but no record names it"
            )
        for path in report.leftovers:
            self.stderr.write(f"warning: {path} is left from an interrupted upload")
        for label, reason in report.failures:
            self.stderr.write(f"FAILED {label}: {reason}")
        if report.failures:
            raise CommandError(
                f"{len(report.failures)} of {report.checked} evidence files do not match",
                returncode=1,
            )
        self.stdout.write(f"{report.checked} evidence files verified: all match")
