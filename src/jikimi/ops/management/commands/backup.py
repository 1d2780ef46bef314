from pathlib import Path

from django.core.management.base import CommandError

from jikimi.core.commands import OperatorCommand
from jikimi.ops.backup import BackupError, create_backup


class Command(OperatorCommand):
    help = (
        "Write a consistent backup of the database to PATH (a new file, mode 0600) while "
        "Jikimi runs. The key file is not in it: back that up separately."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path, **opts):
        try:
            summary = create_backup(path)
        except BackupError as exc:
            raise CommandError(str(exc), returncode=exc.returncode)
        m = summary.manifest
        self.stdout.write(
            f"backup written to {summary.path} ({m['snapshot']['size']} bytes of "
            f"{m['vendor']} snapshot, sha256 {m['snapshot']['sha256']})"
        )
        self.stdout.write(
            f"the key file is NOT in the backup: the data needs key ids "
            f"{', '.join(m['key_ids']) or '(none yet)'}; back up keys.json (or JIKIMI_KEYS) "
            "separately and keep it apart from the database backups"
        )
