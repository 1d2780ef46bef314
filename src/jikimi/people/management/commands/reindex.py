from django.core.management.base import BaseCommand

from jikimi.people.services import reindex_identities


class Command(BaseCommand):
    help = (
        "Rebuild the blind indexes of names, phones and e-mails (run after an upgrade that "
        "changes how names are keyed; search misses old records until then)."
    )

    def handle(self, *args, **opts):
        count = reindex_identities()
        self.stdout.write(f"re-indexed {count} identities")
