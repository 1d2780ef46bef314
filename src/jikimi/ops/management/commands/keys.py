from django.core.management.base import CommandError

from jikimi.core import services
from jikimi.core.commands import OperatorCommand
from jikimi.core.keyring import KeyRing, KeyRingError, get_keyring


class Command(OperatorCommand):
    help = (
        "Key ring: `rotate` adds a new active key and re-encrypts every field under it "
        "and rewraps the keys of evidence files (in batches; `--resume` finishes an "
        "interrupted run); `retire KEY` removes an "
        "unused key; `status` counts ciphertexts per key; `new-ring` prints a fresh ring."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["rotate", "retire", "status", "new-ring"])
        parser.add_argument("key_id", nargs="?")
        parser.add_argument(
            "--resume",
            action="store_true",
            help="re-encrypt under the current active key, no new key",
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, action, key_id=None, resume=False, batch_size=500, **opts):
        try:
            if action == "new-ring":
                self.stdout.write(KeyRing.generate().to_json())
            elif action == "status":
                ring = get_keyring()
                for kid, n in services.ciphertexts_by_key().items():
                    mark = " (active)" if kid == ring.active else ""
                    self.stdout.write(f"{kid}{mark}: {n} ciphertexts")
            elif action == "retire":
                if not key_id:
                    raise CommandError(
                        "name the key to retire, e.g. `jikimi keys retire k1`", returncode=2
                    )
                services.retire_key(key_id)
                self.stdout.write(f"key {key_id} removed from the ring")
            else:
                run = services.reencrypt_all if resume else services.rotate_keys
                report = run(batch_size=batch_size, progress=self.stdout.write)
                self.stdout.write(
                    f"active key {report.active}; {report.reencrypted} "
                    f"re-encrypted; per key: {report.remaining_by_key}"
                )
        except KeyRingError as exc:
            raise CommandError(str(exc), returncode=1)
