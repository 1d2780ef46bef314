from pathlib import Path

from django.core.management.base import CommandError

from jikimi.core.commands import OperatorCommand
from jikimi.ops.backup import BackupError, restore_backup


class Command(OperatorCommand):
    help = (
        "Replace the database with the backup at PATH (stop `jikimi serve`, `web` and "
        "`monitor` first). Over existing data only with --force, which saves it first."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace a database that holds data (it is saved to JIKIMI_HOME/backups first)",
        )

    def handle(self, *args, path, force=False, **opts):
        try:
            summary = restore_backup(path, force=force, progress=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc), returncode=exc.returncode)
        m = summary.manifest
        self.stdout.write(
            f"restored {path} (made {m['created_at']} by Jikimi {m['jikimi_version']})"
        )
        if summary.migrated:
            self.stdout.write(f"migrated forward: {', '.join(summary.migrated)}")
        chain = "ok" if summary.chain_problem is None else f"BROKEN: {summary.chain_problem}"
        self.stdout.write(
            f"people: {summary.people}; audit rows: {summary.audit_rows}; audit chain: {chain}"
        )
        if "evidence" in summary.manifest:
            self.stdout.write(
                f"evidence files: {summary.manifest['evidence']['files']} in the backup, "
                f"{summary.evidence_files} placed in the store"
            )
        if summary.chain_problem is not None:
            raise CommandError(
                f"the restored audit chain does not verify ({summary.chain_problem}); the "
                "data is restored, but the log was altered before or in this backup",
                returncode=1,
            )
