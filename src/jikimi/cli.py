"""The `jikimi` command: Django management commands under one name.

`jikimi init`, `jikimi serve`, `jikimi import people …`, `jikimi link …`, `jikimi estimate …`
are management commands in the app that owns them (DESIGN §8). Bad input exits 2
(CommandError(returncode=2)), other failures 1.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jikimi.settings")
    if not os.environ.get("DATABASE_URL"):
        # The SQLite file lives in JIKIMI_HOME; SQLite cannot create the folder itself, and
        # Django's system checks may open the database before `init` runs.
        from pathlib import Path

        Path(os.environ.get("JIKIMI_HOME", "var")).mkdir(parents=True, exist_ok=True, mode=0o700)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["jikimi", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
