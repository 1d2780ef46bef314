"""Korean first: every string a template marks for translation has a Korean translation.

(A `makemessages` run once silently marked the check-in page's strings obsolete, and the
person's own check-in page fell back to English; this test catches that.)
"""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
TRANS_RE = re.compile(
    r"""{%\s*trans\s+"((?:[^"\\]|\\.)*)"(?:\s+context\s+"([^"]*)")?\s*(?:as\s+\w+\s*)?%}"""
)
# Strings that are the same in Korean (codes, names of things).
SAME_IN_KOREAN = {"PIN", "Jikimi", "API", "TOTP", "SVG", "CSV", "OK"}


def template_strings() -> dict[tuple[str, str | None], str]:
    """(text, context or None) → the first template marking it."""
    found = {}
    for path in ROOT.rglob("templates/**/*.html"):
        for match in TRANS_RE.finditer(path.read_text(encoding="utf-8")):
            found.setdefault((match.group(1), match.group(2)), str(path.relative_to(ROOT)))
    return found


def _korean(text: str, context: str | None) -> str:
    return translation.pgettext(context, text) if context else translation.gettext(text)


def test_it_has_a_korean_translation_for_every_template_string():
    strings = template_strings()
    assert len(strings) > 200  # the templates were found
    with translation.override("ko"):
        missing = sorted(
            f"{where}: {text!r}"
            for (text, context), where in strings.items()
            if text not in SAME_IN_KOREAN and _korean(text, context) == text
        )
    assert not missing, "no Korean for:\n" + "\n".join(missing)


def test_every_catalog_compiles_and_its_mo_is_the_compiled_po(tmp_path):
    """The committed .mo files are what Django reads: one left behind after an edit of the
    .po (or a merge of two branches' catalogs) silently shows the old or the English text."""
    import shutil
    import subprocess

    import pytest

    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("needs gettext's msgfmt (make system-deps installs it)")
    catalogs = sorted(ROOT.rglob("locale/ko/LC_MESSAGES/django.po"))
    assert len(catalogs) >= 5
    stale = []
    for po in catalogs:
        out = tmp_path / "django.mo"
        run = subprocess.run(
            [msgfmt, "--check-format", "--check-domain", "-o", str(out), str(po)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, f"{po.relative_to(ROOT)}: {run.stderr}"
        if out.read_bytes() != po.with_suffix(".mo").read_bytes():
            stale.append(str(po.relative_to(ROOT)))
    assert not stale, "recompile (msgfmt -o django.mo django.po): " + ", ".join(stale)
