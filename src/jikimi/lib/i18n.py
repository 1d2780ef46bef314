"""Marking messages for translation without Django (layer 0 imports no Django)."""

from __future__ import annotations


def gettext_noop(message: str) -> str:
    """Marks an English message for translation: `makemessages` extracts calls of this name,
    and the pages translate the string with `gettext` where they show it."""
    return message
