"""Install-level services: the home folder and key rotation."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models, transaction

from . import crypto, filestore
from .fields import EncryptedTextField
from .keyring import KeyRing, KeyRingError, get_keyring, key_file_path, write_key_file

log = logging.getLogger("jikimi.core")


def init_home() -> list[str]:
    """Create JIKIMI_HOME, the key file and the secret key when missing. Idempotent."""
    done = []
    home = Path(settings.JIKIMI_HOME)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not key_file_path().exists() and not _env_keys():
        if _database_holds_data():
            raise KeyRingError(
                f"no key file at {key_file_path()}, but the database already holds encrypted "
                "data: restore keys.json from your backup (a new key could not read it)"
            )
        write_key_file(KeyRing.generate())
        done.append(
            f"created key file {key_file_path()} (back it up: without it the data cannot be read)"
        )
    secret = home / "secret_key"
    if not secret.exists():
        secret.write_text(secrets.token_urlsafe(50))
        secret.chmod(0o600)
        done.append(f"created {secret}")
    (home / "evidence").mkdir(exist_ok=True, mode=0o700)
    return done


def _database_holds_data() -> bool:
    """True when the database exists and has rows with ciphertexts (not a fresh install)."""
    from django.db import connection

    if connection.vendor == "sqlite" and not Path(connection.settings_dict["NAME"]).exists():
        return False
    try:
        tables = set(connection.introspection.table_names())
    except Exception:  # noqa: BLE001 - an unreachable database is reported by migrate
        return False
    for model, _field in encrypted_columns():
        if model._meta.db_table in tables and model._default_manager.exists():
            return True
    return False


def _env_keys() -> bool:
    import os

    return bool(os.environ.get("JIKIMI_KEYS"))


def check_keys_usable() -> None:
    """Raise KeyRingError with a message saying what to do (used before serving)."""
    probe = b"jikimi:probe"
    crypto.decrypt(crypto.encrypt("probe", probe), probe)


# --- Key rotation -------------------------------------------------------------------------


def encrypted_columns() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


@dataclass
class RotationReport:
    active: str
    reencrypted: int
    remaining_by_key: dict[str, int]


def stale_ciphertexts(model, field, active: str):
    """Rows of one column whose ciphertext is not under the active key."""
    return model.objects.exclude(**{f"{field.attname}__isnull": True}).exclude(
        **{f"{field.attname}__startswith": f"{crypto.PREFIX}:{active}:"}
    )


def reencrypt_all(
    batch_size: int = 500, progress: Callable[[str], None] | None = None
) -> RotationReport:
    """Re-encrypt every ciphertext not under the active key, in batches.

    Resumable: each batch commits on its own and only stale rows are selected, so a run
    that stops half-way is finished by running it again. Web and monitor keep working:
    old ciphertexts stay readable as long as their key is in the ring. The keys of stored
    evidence files are rewrapped too (the files themselves are not rewritten).
    """
    active = get_keyring().active
    total = 0
    for model, field in encrypted_columns():
        while True:
            with transaction.atomic():
                rows = list(stale_ciphertexts(model, field, active).order_by("pk")[:batch_size])
                for row in rows:
                    plain = getattr(row, field.attname)  # decrypts under the old key
                    setattr(row, field.attname, plain)  # re-encrypted under the active key
                    row.save(update_fields=[field.attname])
            total += len(rows)
            if progress and rows:
                progress(f"{model._meta.label}.{field.name}: {len(rows)} re-encrypted")
            if len(rows) < batch_size:
                break
    total += filestore.rewrap_all(progress)
    return RotationReport(active, total, ciphertexts_by_key())


def ciphertexts_by_key() -> dict[str, int]:
    """Ciphertexts under each key: encrypted fields and the wrapped keys of evidence files."""
    counts: dict[str, int] = {}
    wrapped = filestore.wrapped_keys_by_key()
    for key_id in get_keyring().keys:
        n = 0
        for model, field in encrypted_columns():
            n += model._default_manager.filter(
                **{f"{field.attname}__startswith": f"{crypto.PREFIX}:{key_id}:"}
            ).count()
        counts[key_id] = n + wrapped.get(key_id, 0)
    return counts


def rotate_keys(batch_size: int = 500, progress=None) -> RotationReport:
    """Add a new active key to the key file, then re-encrypt everything under it."""
    if _env_keys():
        raise KeyRingError(
            "the key ring comes from JIKIMI_KEYS: add a new key there yourself "
            "(`jikimi keys new-ring`), then run `jikimi keys rotate --resume`"
        )
    write_key_file(get_keyring().with_new_active_key())
    return reencrypt_all(batch_size, progress)


def retire_key(key_id: str) -> None:
    """Remove a key from the ring once no ciphertext uses it."""
    if key_id == get_keyring().active:
        raise KeyRingError("the active key cannot be removed")
    in_use = ciphertexts_by_key().get(key_id)
    if in_use is None:
        raise KeyRingError(f"key {key_id!r} is not in the ring")
    if in_use:
        raise KeyRingError(
            f"{in_use} ciphertexts still use key {key_id!r}: run "
            "`jikimi keys rotate --resume` first"
        )
    write_key_file(get_keyring().without_key(key_id))
