from django.core.management.base import CommandError

from jikimi.audit.services import verify_chain
from jikimi.core.commands import OperatorCommand


class Command(OperatorCommand):
    help = "Audit log tools. `jikimi audit verify`: exit 0 if the hash chain is intact."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, action: str, **opts):
        problem = verify_chain()
        if problem is not None:
            raise CommandError(f"audit chain broken at {problem}", returncode=1)
        self.stdout.write("audit chain intact")
