"""Request bodies: JSON must be an object, and every view refuses one that is not.

Kept apart from `errors` because DRF imports these classes while `rest_framework.views` is
still being imported (its settings name them), so this module must not import that.
"""

from __future__ import annotations

from typing import Any

from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission

from jikimi.core.errors import not_an_object


class ObjectJSONParser(JSONParser):
    """JSON whose top level is an object: every view reads `request.data` as a mapping, so a
    list, a string or a number is a 400 naming the problem, not an AttributeError (500)."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise not_an_object()
        return data


class BodyIsAnObject(BasePermission):
    """Parses the body before the view runs, so a bad body is refused (400) by every view,
    including views that never read it and views whose handler is not reached (405).

    A permission because it is DRF's one per-request hook that settings apply to every view
    after authentication; it grants everything it does not refuse.
    """

    def has_permission(self, request, view) -> bool:
        request.data  # noqa: B018 - parsing raises for a body that is not an object
        return True
