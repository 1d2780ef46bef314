from jikimi.core.commands import OperatorCommand
from jikimi.people.services import reindex_identities


class Command(OperatorCommand):
    help = (
        "Rebuild the blind indexes of names, phones and e-mails (run after an upgrade that "
        "changes how names are keyed; search misses old records until then)."
    )

    def handle(self, *args, **opts):
        count = reindex_identities()
        self.stdout.write(f"re-indexed {count} identities")
