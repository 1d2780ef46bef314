"""The `jikimi` command: Django management commands under one name.

`jikimi init`, `jikimi serve`, `jikimi import people …`, `jikimi link …`, `jikimi estimate …`
are management commands in the app that owns them (DESIGN §8). Bad input exits 2
(CommandError(returncode=2)), other failures 1.

`jikimi estimate` (on a file, or its `--help`) needs neither the database nor Django: it runs
here without importing Django at all (``django.setup()`` alone takes most of a second), with
a parser built as Django builds a command's, so its help, errors and exit codes are the
management command's. Anything that may need Django — `--settings`, `--pythonpath`,
`--version`, shell completion, another settings module — takes Django's way.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys

# Commands run without Django (each a module with HELP, add_arguments(parser), run(options)).
NO_DJANGO = ("estimate",)
# Options that change what Django would load (or need it), and the prefixes argparse would
# take for them: with any of these the command goes through Django.
_DJANGO_OPTIONS = ("--set", "--py", "--vers")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jikimi.settings")
    if _run_without_django(args):
        return
    if not os.environ.get("DATABASE_URL"):
        # The SQLite file lives in JIKIMI_HOME; SQLite cannot create the folder itself, and
        # Django's system checks may open the database before `init` runs.
        from pathlib import Path

        Path(os.environ.get("JIKIMI_HOME", "var")).mkdir(parents=True, exist_ok=True, mode=0o700)
    with _no_gc_until_setup():
        from django.core.management import execute_from_command_line

        execute_from_command_line(["jikimi", *args])


@contextlib.contextmanager
def _no_gc_until_setup():
    """No cyclic garbage collection while Django and the apps are imported (issue #12 item
    14): start-up allocates many objects and frees almost none, so the collector's passes
    then are wasted work (about 7% of a command's start, measured with farm-bench). The
    collector comes back as soon as ``django.setup()`` returns, with what start-up made
    frozen (never scanned again: the monitor's loop does not pay for it), or on leaving."""
    import django
    from django.apps import apps

    if apps.ready or not gc.isenabled():  # set up already (a test calling main), or not ours
        yield
        return
    setup = django.setup

    def setup_then_collect(*args, **kwargs):
        try:
            setup(*args, **kwargs)
        finally:
            gc.freeze()
            gc.enable()

    gc.disable()
    django.setup = setup_then_collect
    try:
        yield
    finally:
        django.setup = setup
        gc.enable()


def _run_without_django(args: list[str]) -> bool:
    """Run `args` here if the command needs no Django; False to take Django's way."""
    if (
        os.environ["DJANGO_SETTINGS_MODULE"] != "jikimi.settings"
        or "DJANGO_AUTO_COMPLETE" in os.environ
        or sys.platform == "win32"
    ):
        return False
    if args in ([], ["help"], ["--help"], ["-h"]):
        try:
            text = _main_help()
        except Exception:  # settings that do not load, an app not found: Django says why
            return False
        sys.stdout.write(text + "\n")
        return True
    if args[:1] == ["help"] and len(args) == 2 and args[1] in NO_DJANGO:
        name, rest = args[1], ["--help"]  # `jikimi help estimate` is `estimate --help`
    elif args and args[0] in NO_DJANGO:
        name, rest = args[0], args[1:]
    else:
        return False
    if any(a.split("=", 1)[0].startswith(_DJANGO_OPTIONS) for a in rest):
        return False
    from jikimi.estimates import command  # the one command in NO_DJANGO

    parser = _command_parser(name, command.HELP, command.add_arguments)
    options = vars(parser.parse_args(rest))
    try:
        if options["no_color"] and options["force_color"]:
            raise _Failed("The --no-color and --force-color options can't be used together.", 1)
        try:
            output = command.run(options)
        except command.EstimateFailed as exc:
            raise _Failed(str(exc), exc.returncode) from exc
    except _Failed as exc:
        if options["traceback"]:
            from django.core.management.base import CommandError

            raise CommandError(str(exc), returncode=exc.returncode) from exc
        _write_error(str(exc), options)
        sys.exit(exc.returncode)
    if output:
        sys.stdout.write(output if output.endswith("\n") else output + "\n")
    return True


def _main_help() -> str:
    """`jikimi --help`: ManagementUtility.main_help_text without setting Django up — the
    commands of django.core and of each installed app, found in the apps' folders as
    get_commands finds them (the first app in INSTALLED_APPS wins a name), none imported."""
    import pkgutil
    from importlib.util import find_spec

    from django.utils import termcolors

    from jikimi import settings

    def find_commands(package: str) -> list[str]:
        spec = find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise LookupError(package)
        folder = os.path.join(list(spec.submodule_search_locations)[0], "management", "commands")
        return [
            name
            for _, name, is_pkg in pkgutil.iter_modules([folder])
            if not is_pkg and not name.startswith("_")
        ]

    commands = {name: "django" for name in find_commands("django.core")}
    for app in reversed(settings.INSTALLED_APPS):
        commands.update({name: app.rpartition(".")[-1] for name in find_commands(app)})
    by_app: dict[str, list[str]] = {}
    for name, app in commands.items():
        by_app.setdefault(app, []).append(name)
    # color_style().NOTICE: coloured when stdout is a terminal, as DJANGO_COLORS says.
    notice = lambda text: text  # noqa: E731
    if sys.stdout.isatty():
        palette = termcolors.parse_color_setting(os.environ.get("DJANGO_COLORS", ""))
        if palette:
            notice = termcolors.make_style(**palette.get("NOTICE", {}))  # type: ignore[arg-type]
    usage = [
        "",
        "Type 'jikimi help <subcommand>' for help on a specific subcommand.",
        "",
        "Available subcommands:",
    ]
    for app in sorted(by_app):
        usage.append("")
        usage.append(notice(f"[{app}]"))
        usage.extend(f"    {name}" for name in sorted(by_app[app]))
    return "\n".join(usage)


class _Failed(Exception):
    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode


def _write_error(message: str, options: dict) -> None:
    """`CommandError: …` on stderr, styled as BaseCommand.run_from_argv writes it (only a
    failure pays for importing Django's output helpers, not Django's setup)."""
    from django.core.management.base import OutputWrapper
    from django.core.management.color import color_style

    stderr = OutputWrapper(sys.stderr)
    if not options["no_color"]:
        stderr.style_func = color_style(options["force_color"]).ERROR
    stderr.write(f"CommandError: {message}")


def _command_parser(name: str, description: str, add_arguments):
    """The parser BaseCommand.create_parser builds for a command with no system checks
    (jikimi/tests: test_startup checks its help is Django's, word for word)."""
    import argparse

    class Formatter(argparse.HelpFormatter):
        # Django's DjangoHelpFormatter: the command's own arguments first.
        show_last = {
            "--version",
            "--verbosity",
            "--traceback",
            "--settings",
            "--pythonpath",
            "--no-color",
            "--force-color",
            "--skip-checks",
        }

        def _reordered_actions(self, actions):
            return sorted(actions, key=lambda a: set(a.option_strings) & self.show_last != set())

        def add_usage(self, usage, actions, *args, **kwargs):
            super().add_usage(usage, self._reordered_actions(actions), *args, **kwargs)

        def add_arguments(self, actions):
            super().add_arguments(self._reordered_actions(actions))

    kwargs: dict = {}
    if sys.version_info >= (3, 14):
        if sys.version_info < (3, 15):
            kwargs["suggest_on_error"] = True
        if os.environ.get("DJANGO_COLORS") == "nocolor" or "--no-color" in sys.argv:
            kwargs["color"] = False
    parser = argparse.ArgumentParser(
        prog=f"jikimi {name}", description=description, formatter_class=Formatter, **kwargs
    )
    parser.add_argument(
        "--version", action="version", help="Show program's version number and exit."
    )
    parser.add_argument(
        "-v",
        "--verbosity",
        default=1,
        type=int,
        choices=[0, 1, 2, 3],
        help=(
            "Verbosity level; 0=minimal output, 1=normal output, 2=verbose output, "
            "3=very verbose output"
        ),
    )
    parser.add_argument(
        "--settings",
        help=(
            "The Python path to a settings module, e.g. "
            '"myproject.settings.main". If this isn\'t provided, the '
            "DJANGO_SETTINGS_MODULE environment variable will be used."
        ),
    )
    parser.add_argument(
        "--pythonpath",
        help='A directory to add to the Python path, e.g. "/home/djangoprojects/myproject".',
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="Display a full stack trace on CommandError exceptions.",
    )
    parser.add_argument(
        "--no-color", action="store_true", help="Don't colorize the command output."
    )
    parser.add_argument(
        "--force-color", action="store_true", help="Force colorization of the command output."
    )
    add_arguments(parser)
    return parser


if __name__ == "__main__":
    main()
