"""`jikimi backup` and `jikimi restore`: one file with a consistent database snapshot.

The file is an uncompressed tar holding `manifest.json`, the snapshot
(`database.sqlite3` made with SQLite's online backup API, or `database.pgdump` made by
`pg_dump --format=custom`) and the evidence store's files (`evidence/<id[:2]>/<id>`, as
stored: encrypted, each authenticated chunk by chunk, so `jikimi evidence verify` after a
restore names any that was damaged). The key ring is never in it: the snapshot holds ciphertext
only, so a stolen backup without the key file reveals nothing identifying. The manifest
names the key ids the data needs, so a restore can say which keys to bring back.

Restore checks everything it can before it changes anything (manifest, checksum, vendor,
migrations this code knows, the key ids); the replacement itself is one transaction on
either database, so a failure leaves the old data as it was. With `--force` over existing
data, the current database is first saved to a backup of its own ("nothing lost").
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, NotRequired, TypedDict, cast

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

import jikimi
from jikimi.core import crypto, filestore
from jikimi.core.keyring import KeyRingError, get_keyring

if TYPE_CHECKING:
    from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SNAPSHOT = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
VENDOR_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
EVIDENCE = "evidence"  # the tar folder of the evidence store's files
_EVIDENCE_MEMBER = re.compile(r"^evidence/([0-9a-f]{2})/([0-9a-f]{32})$")


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; `returncode` 2 for bad input, 1 otherwise."""

    def __init__(self, message: str, returncode: int = 1) -> None:
        super().__init__(message)
        self.returncode = returncode


class EvidenceEntry(TypedDict):
    files: int
    bytes: int


class SnapshotEntry(TypedDict):
    name: str  # SNAPSHOT[vendor]: the tar member holding the database
    size: int
    sha256: str


class Manifest(TypedDict):
    """`manifest.json`: what a restore checks before it changes anything (no keys in it)."""

    format: int  # FORMAT_VERSION of the Jikimi that wrote it
    jikimi_version: str
    vendor: str  # "sqlite" or "postgresql" (a key of SNAPSHOT)
    created_at: str  # ISO 8601, to the second
    migrations: list[str]  # "app.name" as applied in the snapshot, in order
    key_ids: list[str]  # the key ids the snapshot's ciphertexts name
    snapshot: SnapshotEntry
    evidence: NotRequired[EvidenceEntry]  # absent in backups made before evidence existed


@dataclass
class BackupSummary:
    path: Path
    manifest: Manifest


@dataclass
class RestoreSummary:
    manifest: Manifest
    people: int
    audit_rows: int
    chain_problem: str | None
    migrated: list[str] = field(default_factory=list)
    saved_previous: Path | None = None
    evidence_files: int = 0  # files of the backup placed in the evidence store


# --- Backup -------------------------------------------------------------------------------


def create_backup(path: Path) -> BackupSummary:
    """Write a backup of the current database to `path`, which must not exist yet.

    1. Snapshot into a private temporary folder beside `path` (same file system, so the
       final step is a rename, and no half-written backup ever carries the real name).
    2. Read the applied migrations and the key ids from the snapshot itself.
    3. Tar manifest + snapshot (mode 0600), fsync, then hard-link it to `path`: the link
       fails if `path` appeared meanwhile, so an existing file is never replaced.
    """
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} already exists: choose a new file name", 2)
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a folder", 2)
    vendor = connection.vendor
    if vendor not in SNAPSHOT:
        raise BackupError(f"backups of {vendor} databases are not supported", 1)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".jikimi-backup-") as tmp:
        snapshot = Path(tmp) / SNAPSHOT[vendor]
        if vendor == "sqlite":
            migrations, key_ids = _snapshot_sqlite(snapshot)
        else:
            migrations, key_ids = _snapshot_postgres(snapshot)
        # After the snapshot: every file its rows name is already in the store (a file is
        # stored before its row commits). The keys wrapping the files' keys are named too.
        evidence = [
            (file_id, stored_at, stored_at.stat().st_size)
            for file_id in filestore.stored_ids()
            if (stored_at := filestore.path_of(file_id)).exists()
        ]
        key_ids = sorted(set(key_ids) | set(filestore.wrapped_keys_by_key()))
        manifest: Manifest = {
            "format": FORMAT_VERSION,
            "jikimi_version": jikimi.__version__,
            "vendor": vendor,
            "created_at": timezone.now().isoformat(timespec="seconds"),
            "migrations": migrations,
            "key_ids": key_ids,
            "snapshot": {
                "name": snapshot.name,
                "size": snapshot.stat().st_size,
                "sha256": _sha256(snapshot),
            },
            "evidence": {"files": len(evidence), "bytes": sum(size for _i, _p, size in evidence)},
        }
        archive = Path(tmp) / "backup.tar"
        fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            with tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
                body = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, int(timezone.now().timestamp())
                tar.addfile(info, io.BytesIO(body))
                tar.add(snapshot, arcname=snapshot.name, recursive=False, filter=_private)
                for file_id, file_path, _size in evidence:  # streamed, never read whole
                    tar.add(
                        file_path,
                        arcname=f"{EVIDENCE}/{file_id[:2]}/{file_id}",
                        recursive=False,
                        filter=_private,
                    )
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(archive, path)
        except FileExistsError:
            raise BackupError(f"{path} already exists: choose a new file name", 2)
        _fsync_dir(path.parent)
    from jikimi.audit import services as audit

    audit.record(
        "backup.create",
        object_type="backup",
        detail={"sha256": manifest["snapshot"]["sha256"], "vendor": vendor},
    )
    return BackupSummary(path, manifest)


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def _snapshot_sqlite(dest: Path) -> tuple[list[str], list[str]]:
    """Copy the live database with the online backup API: a consistent snapshot that includes
    what is still in the WAL, taken while the web process and the monitor keep writing (a
    file copy could catch a page half-written or miss the WAL)."""
    source = sqlite3.connect(str(connection.settings_dict["NAME"]), timeout=30)
    target = sqlite3.connect(dest)
    try:
        # pages=-1: one step under one read transaction, so writers cannot restart it.
        source.backup(target, pages=-1)
        # The snapshot stands alone: no -wal or -shm file beside it.
        target.execute("PRAGMA journal_mode=DELETE")
        return _migrations_in(target), _key_ids_in(target, "sqlite")
    finally:
        target.close()
        source.close()


def _migrations_in(conn: sqlite3.Connection) -> list[str]:
    try:
        rows = conn.execute("SELECT app, name FROM django_migrations ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        return []
    return [f"{app}.{name}" for app, name in rows]


def _key_id_sql(vendor: str) -> list[str]:
    """Statements that list the key ids named by the ciphertexts of each encrypted column
    (a ciphertext is `v1:<key id>:<base64>`)."""
    from jikimi.core.services import encrypted_columns

    statements = []
    for model, fld in encrypted_columns():
        table, column = model._meta.db_table, fld.column
        if vendor == "sqlite":
            key = f'substr("{column}", 4, instr(substr("{column}", 4), \':\') - 1)'
        else:
            key = f"split_part(\"{column}\", ':', 2)"
        statements.append(
            f'SELECT DISTINCT {key} FROM "{table}" '  # noqa: S608 - names from the models
            f"WHERE \"{column}\" LIKE '{crypto.PREFIX}:%'"
        )
    return statements


def _key_ids_in(conn: sqlite3.Connection, vendor: str) -> list[str]:
    found: set[str] = set()
    for sql in _key_id_sql(vendor):
        try:
            found.update(r[0] for r in conn.execute(sql))
        except sqlite3.OperationalError:  # a table an older schema does not have yet
            continue
    return sorted(found)


def _key_ids_live() -> list[str]:
    """Key ids named in the current database (either vendor), through Django's connection."""
    tables = set(connection.introspection.table_names())
    found: set[str] = set()
    with connection.cursor() as cur:
        for sql, (model, _f) in zip(_key_id_sql(connection.vendor), _columns(), strict=True):
            if model._meta.db_table in tables:
                cur.execute(sql)
                found.update(r[0] for r in cur.fetchall())
    return sorted(found)


def _columns():
    from jikimi.core.services import encrypted_columns

    return list(encrypted_columns())


def _migrations_live() -> list[str]:
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return []
    return [f"{m.app}.{m.name}" for m in recorder.migration_qs.order_by("id")]


def _pg_env() -> dict[str, str]:
    """libpq settings for pg_dump/pg_restore. The password goes in the environment, not on
    the command line, where any user on the machine could read it in `ps`."""
    db = connection.settings_dict
    env = dict(os.environ)
    for var, key in [
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ]:
        if db.get(key):
            env[var] = str(db[key])
    return env


def _pg_tool(name: str) -> str:
    """The path of pg_dump or pg_restore, if its major version is not older than the
    server's (an older pg_dump cannot read a newer server's catalogue)."""
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools "
            "(e.g. apt install postgresql-client) of the server's version or newer",
            1,
        )
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    connection.ensure_connection()
    check_tool_version(name, out.stdout, cast("PostgresWrapper", connection).pg_version)
    return tool


def check_tool_version(name: str, version_output: str, server_version: int) -> None:
    """Refuse a client tool whose major version is older than the server's
    (`server_version` as libpq gives it: 150020 for 15.2; Django 6 needs PostgreSQL 14+)."""
    match = re.search(r"(\d+)(?:\.(\d+))?", version_output)
    server_major = server_version // 10000
    if match is None or int(match.group(1)) < server_major:
        found = match.group(0) if match else version_output.strip() or "of unknown version"
        raise BackupError(
            f"{name} {found} is older than the PostgreSQL server ({server_major}): "
            f"install the client tools of version {server_major} or newer",
            1,
        )


def _snapshot_postgres(dest: Path) -> tuple[list[str], list[str]]:
    """pg_dump runs in one repeatable-read transaction: a consistent snapshot while the
    web process and the monitors keep writing. Migrations and key ids are read before and
    after: a migration during the dump fails the backup; key ids take the union (a key
    rotation may run meanwhile; naming one key too many is harmless)."""
    tool = _pg_tool("pg_dump")
    migrations, key_ids = _migrations_live(), _key_ids_live()
    run = subprocess.run(
        [tool, "--format=custom", "--no-password", f"--file={dest}"],
        env=_pg_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise BackupError(f"pg_dump failed: {run.stderr.strip()}", 1)
    if _migrations_live() != migrations:
        raise BackupError("the database was migrated while the backup ran: run it again", 1)
    return migrations, sorted(set(key_ids) | set(_key_ids_live()))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Restore ------------------------------------------------------------------------------


def read_backup(path: Path, into: Path) -> tuple[Manifest, Path]:
    """Check a backup file and extract its snapshot into the folder `into`.

    Bad input (exit 2): not a tar, truncated, no or malformed manifest, a newer format, a
    snapshot whose size or SHA-256 differs from the manifest's.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file", 2)
    bad = f"{path} is not a Jikimi backup or is damaged"
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = {m.name: m for m in tar.getmembers()}
            info = members.get(MANIFEST)
            if info is None or not info.isfile():
                raise BackupError(f"{bad}: it has no {MANIFEST}", 2)
            manifest = _parse_manifest(_open_member(tar, info).read(), path)
            snap_name = manifest["snapshot"]["name"]
            snap = members.get(snap_name)
            if snap is None or not snap.isfile() or snap_name != SNAPSHOT[manifest["vendor"]]:
                raise BackupError(f"{bad}: the snapshot {snap_name} is missing", 2)
            target = Path(into) / snap_name
            digest = hashlib.sha256()
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out, _open_member(tar, snap) as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
            _extract_evidence(tar, members, Path(into) / EVIDENCE, bad)
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"{bad} (truncated or not a tar file: {exc})", 2)
    expected = manifest["snapshot"]
    if target.stat().st_size != expected["size"] or digest.hexdigest() != expected["sha256"]:
        raise BackupError(
            f"{path}: the snapshot's checksum does not match the manifest "
            "(the file is damaged or was altered): nothing was restored",
            2,
        )
    return manifest, target


def _extract_evidence(
    tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], into: Path, bad: str
) -> None:
    """The evidence files of the backup, copied into `into/<id>`. A member under evidence/
    that is not a regular file named like a stored file is refused (no path from a backup
    ever reaches the file system unchecked)."""
    for name, info in members.items():
        if not name.startswith(f"{EVIDENCE}/"):
            continue
        match = _EVIDENCE_MEMBER.match(name)
        if match is None or not info.isfile() or match.group(2)[:2] != match.group(1):
            raise BackupError(f"{bad}: {name} is not an evidence file", 2)
        into.mkdir(exist_ok=True, mode=0o700)
        fd = os.open(into / match.group(2), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, _open_member(tar, info) as src:
            shutil.copyfileobj(src, out, 1 << 20)


def _place_evidence(folder: Path) -> int:
    """Move the restored evidence files into the store. A file already there (the same id
    is the same file: ids are random) is kept; files of the store the backup lacks stay
    too (nothing lost: `jikimi evidence verify` reports them as not named by any record)."""
    if not folder.is_dir():
        return 0
    placed = 0
    for source in sorted(folder.iterdir()):
        target = filestore.path_of(source.name)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(source, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(source, target)
        _fsync_dir(target.parent)
        placed += 1
    return placed


def _open_member(tar: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    """The contents of a regular file in the tar (callers checked `info.isfile()`)."""
    fh = tar.extractfile(info)
    if fh is None:
        raise tarfile.TarError(f"{info.name} is not a regular file")
    return fh


def _parse_manifest(raw: bytes, path: Path) -> Manifest:
    try:
        manifest = json.loads(raw)
        fmt = manifest["format"]
        if not isinstance(fmt, int):
            raise TypeError("format")
        if fmt > FORMAT_VERSION:
            raise BackupError(
                f"{path} was made by a newer Jikimi (backup format {fmt}, this one reads "
                f"{FORMAT_VERSION}): upgrade Jikimi first",
                2,
            )
        if manifest["vendor"] not in SNAPSHOT:
            raise TypeError("vendor")
        for key in ("migrations", "key_ids"):
            if not all(isinstance(x, str) for x in manifest[key]):
                raise TypeError(key)
        snap = manifest["snapshot"]
        if not (isinstance(snap["name"], str) and isinstance(snap["size"], int)):
            raise TypeError("snapshot")
        if not re.fullmatch(r"[0-9a-f]{64}", snap["sha256"]):
            raise TypeError("snapshot.sha256")
    except BackupError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{path}: {MANIFEST} is malformed ({exc})", 2)
    return manifest


def data_present() -> dict[str, int]:
    """What the current database holds that a restore would replace (empty: nothing)."""
    from jikimi.accounts.models import User
    from jikimi.audit.models import AuditEvent
    from jikimi.core.services import encrypted_columns
    from jikimi.people.models import Person

    try:
        tables = set(connection.introspection.table_names())
    except Exception:  # noqa: BLE001 - no database yet: nothing to replace
        return {}
    counts = {}
    for label, model in [("people", Person), ("staff accounts", User), ("audit rows", AuditEvent)]:
        if model._meta.db_table in tables and (n := model._default_manager.count()):
            counts[label] = n
    if not counts:
        for model, _f in encrypted_columns():
            if model._meta.db_table in tables and (n := model._default_manager.count()):
                counts[f"{model._meta.verbose_name_plural}"] = n
    return counts


def restore_backup(
    path: Path, *, force: bool = False, progress=lambda line: None
) -> RestoreSummary:
    """Replace the current database with the backup at `path`.

    1. Check the file (read_backup), the vendor, that every migration it names is known to
       this code, and that the key ring holds every key id it names — nothing changed yet.
    2. Over existing data only with `force`, after saving the current data to a backup.
    3. Replace the database in one transaction (SQLite backup API / pg_restore
       --single-transaction), migrate forward, then check the audit chain and that the
       key ring decrypts a ciphertext under each key id the restored data uses.
    """
    vendor = connection.vendor
    home = Path(settings.JIKIMI_HOME)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=home, prefix=".jikimi-restore-") as tmp:
        manifest, snapshot = read_backup(path, Path(tmp))
        if manifest["vendor"] != vendor:
            raise BackupError(
                f"{path} is a {VENDOR_NAMES[manifest['vendor']]} backup but this Jikimi uses "
                f"{VENDOR_NAMES.get(vendor, vendor)}: a backup restores into the same kind "
                "of database (set or unset DATABASE_URL)",
                2,
            )
        unknown = _unknown_migrations(manifest["migrations"])
        if unknown:
            raise BackupError(
                f"{path} was made by a newer Jikimi (migrations this one does not know: "
                f"{', '.join(unknown[:5])}): upgrade Jikimi, then restore",
                2,
            )
        _require_keys(manifest["key_ids"])
        saved = None
        if present := data_present():
            what = ", ".join(f"{n} {label}" for label, n in present.items())
            if not force:
                raise BackupError(
                    f"the database already holds data ({what}): `jikimi restore --force` "
                    "replaces it (after saving it to a backup of its own)",
                    2,
                )
            folder = home / "backups"
            folder.mkdir(exist_ok=True, mode=0o700)
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
            saved = create_backup(free_path(folder, f"before-restore-{stamp}")).path
            progress(f"saved the current data ({what}) to {saved}")
        if vendor == "sqlite":
            _restore_sqlite(snapshot)
        else:
            _restore_postgres(snapshot)
        placed = _place_evidence(Path(tmp) / EVIDENCE)
    summary = _after_restore(manifest, saved)
    summary.evidence_files = placed
    return summary


def free_path(folder: Path, stem: str) -> Path:
    """`folder/stem.jikimi-backup`, or `stem-2`, `stem-3` … if that is taken: two forced
    restores within one second each keep the data they replaced."""
    path, n = folder / f"{stem}.jikimi-backup", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.jikimi-backup"
    return path


def _unknown_migrations(names: list[str]) -> list[str]:
    from django.db.migrations.loader import MigrationLoader

    known = {f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations}
    # django_migrations also keeps rows of squashed or removed migrations: only apps this
    # code has are judged.
    apps_here = {k.split(".", 1)[0] for k in known}
    return [n for n in names if n.split(".", 1)[0] in apps_here and n not in known]


def _require_keys(key_ids: list[str]) -> None:
    try:
        ring = get_keyring()
    except KeyRingError as exc:
        raise BackupError(
            f"{exc}. The backup's data needs key ids {', '.join(key_ids)}: "
            "restore keys.json from your backup",
            1,
        )
    missing = [k for k in key_ids if k not in ring.keys]
    if missing:
        raise BackupError(
            f"the key ring lacks key ids {', '.join(missing)} that the backup's data needs: "
            "restore keys.json from your backup (or JIKIMI_KEYS) and run restore again; "
            "nothing was changed",
            1,
        )


def _restore_sqlite(snapshot: Path) -> None:
    """Copy the snapshot into the live database with the backup API, never by replacing the
    file: a stale -wal beside a swapped file would be replayed into it and corrupt it, and
    an open connection would keep reading the old file. The copy is one write transaction:
    it either completes or leaves the old database as it was."""
    connections.close_all()
    live = Path(connection.settings_dict["NAME"])
    source = sqlite3.connect(snapshot)
    target = sqlite3.connect(live, timeout=30)
    try:
        target.execute("PRAGMA journal_mode=WAL")
        source.backup(target, pages=-1)
    except sqlite3.Error as exc:
        raise BackupError(f"the restore into {live} failed, nothing was changed: {exc}", 1)
    finally:
        source.close()
        target.close()


def _restore_postgres(snapshot: Path) -> None:
    """pg_restore --clean --if-exists in a single transaction: all of it or nothing.
    --no-owner --no-privileges: the restored tables belong to the DATABASE_URL user, who
    runs Jikimi, whatever role owned them where the backup was made."""
    tool = _pg_tool("pg_restore")
    _drop_tables_not_in(tool, snapshot)
    connections.close_all()
    run = subprocess.run(
        [
            tool,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={connection.settings_dict['NAME']}",
            str(snapshot),
        ],
        env=_pg_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise BackupError(
            f"pg_restore failed, nothing was changed: {run.stderr.strip()[-2000:]}", 1
        )


def _drop_tables_not_in(tool: str, snapshot: Path) -> None:
    """Drop tables the backup does not have. --clean drops only what the dump contains, so
    a table made by a newer migration (e.g. by `jikimi init` on the new machine) would stay
    while django_migrations says it is not applied, and migrating forward would fail on
    it. Reached only with an empty database or after its data was saved (--force)."""
    listing = subprocess.run(
        [tool, "--list", str(snapshot)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read the snapshot: {listing.stderr.strip()}", 1)
    in_dump = set(re.findall(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listing.stdout, re.M))
    extra = sorted(set(connection.introspection.table_names()) - in_dump)
    if extra:
        from django.db import transaction

        with transaction.atomic(), connection.cursor() as cur:
            for table in extra:
                cur.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)} CASCADE")


def _after_restore(manifest: Manifest, saved: Path | None) -> RestoreSummary:
    from django.core.management import call_command

    from jikimi.audit import services as audit
    from jikimi.audit.models import AuditEvent
    from jikimi.people.models import Person

    connections.close_all()
    before = set(_migrations_live())
    try:
        call_command("migrate", interactive=False, verbosity=0)
    except Exception as exc:  # noqa: BLE001 - reported with what to do
        raise BackupError(
            f"the backup was restored but migrating it forward failed ({exc}); "
            "run `jikimi migrate` to see why",
            1,
        )
    migrated = [m for m in _migrations_live() if m not in before]
    _check_keys_decrypt()
    problem = audit.verify_chain()
    summary = RestoreSummary(
        manifest=manifest,
        people=Person.objects.count(),
        audit_rows=AuditEvent.objects.count(),
        chain_problem=str(problem) if problem else None,
        migrated=migrated,
        saved_previous=saved,
    )
    if problem is None:
        audit.record(
            "backup.restore",
            object_type="backup",
            detail={
                "sha256": manifest["snapshot"]["sha256"],
                "created_at": manifest["created_at"],
            },
        )
    return summary


def _check_keys_decrypt() -> None:
    """Every key id the restored data uses must be in the ring and be the same key: a
    fresh `jikimi init` on a new machine makes a new `k1` that cannot read the old `k1`."""
    from jikimi.core.services import encrypted_columns

    needed = _key_ids_live()
    _require_keys(needed)
    for key_id in needed:
        for model, fld in encrypted_columns():
            row = (
                model._default_manager.filter(
                    **{f"{fld.attname}__startswith": f"{crypto.PREFIX}:{key_id}:"}
                )
                .only("pk", fld.attname, *([fld.row_id_field] if fld.row_id_field != "pk" else []))
                .first()
            )
            if row is None:
                continue
            try:
                getattr(row, fld.attname)
            except crypto.DecryptionError:
                raise BackupError(
                    f"key {key_id!r} in the key ring is not the key this data was written "
                    "with (a new key file made by `jikimi init`?): restore keys.json from "
                    "your backup",
                    1,
                )
            break
