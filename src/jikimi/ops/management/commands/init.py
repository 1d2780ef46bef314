from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from jikimi.accounts import services as accounts
from jikimi.core.keyring import KeyRingError
from jikimi.core.services import init_home


class Command(BaseCommand):
    help = "Create JIKIMI_HOME, the key file and the database (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="also create an organisation with this slug")

    def handle(self, *args, org=None, **opts):
        try:
            for line in init_home():
                self.stdout.write(line)
        except KeyRingError as exc:
            raise CommandError(str(exc), returncode=1)
        call_command("migrate", interactive=False, verbosity=0)
        if org:
            accounts.ensure_organisation(org)
            self.stdout.write(f"organisation {org} ready")
        self.stdout.write("jikimi is initialised")
