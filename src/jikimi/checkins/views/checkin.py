"""The person's check-in page: GET shows a PIN pad and changes nothing; POST checks in.

Every POST gets the same response — same template, same context, same headers — whether
the PIN was right, the duress PIN, wrong, rate-limited, or the link unknown. The context
depends only on what the person submitted (which action), never on the outcome.

Rendering is the costliest part of a check-in after the database, and the page depends only
on (language, action, pause days), the CSRF token and the page's own address (the language
switch comes back to it): `_page` renders each variant once per process with a placeholder
token and address and fills in the request's own afterwards. So the answer is byte-for-byte
what `render()` gives, identical for every outcome, and never carries another person's link.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from jikimi.core.net import client_ip

from .. import services

ACTIONS = {
    services.PersonAction.CHECKIN,
    services.PersonAction.PAUSE,
    services.PersonAction.WITHDRAW,
}
# As long as a real (masked) token, so the filled-in page has the same length.
_PLACEHOLDER = "J" * 64
# The page's own address (its token) in the cached render, filled in per request.
_HERE = "/c/" + "H" * 43
_RENDERED: dict[tuple, tuple[str, ...]] = {}


def _no_store(response):
    # A shared or seized phone must not show a cached page from the history.
    response["Cache-Control"] = "no-store"
    return response


def _cacheable(request) -> bool:
    """Only the person's usual request: nobody logged in (staff pages add a header and a
    footer) and no flash messages waiting (cookie or session)."""
    return (
        not settings.DEBUG
        and not request.user.is_authenticated
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def _page(request, template: str, context: dict) -> HttpResponse:
    if not _cacheable(request):
        return render(request, template, context)
    key = (template, get_language(), *sorted(context.items()))
    parts = _RENDERED.get(key)
    if parts is None:
        html = render_to_string(
            template, {**context, "csrf_token": _PLACEHOLDER, "here": _HERE}, request
        )
        parts = tuple(html.split(_PLACEHOLDER))
        if len(_RENDERED) < 1000:  # bounded: 2 languages × 3 actions × 60 days at most
            _RENDERED[key] = parts
    page = _masked_token(request).join(parts)
    return HttpResponse(page.replace(_HERE, escape(request.get_full_path())))


def _masked_token(request) -> str:
    """What `get_token(request)` returns — the CSRF secret under a fresh random mask, the
    cookie flagged for renewal — with the mask drawn from one `secrets.token_bytes` call
    instead of Django's 32 `secrets.choice` calls (each its own getrandom syscall), which
    cost more than the rest of the page. Same format and the same uniform distribution
    (rejection sampling), checked by Django's own unmasking in the tests."""
    secret = request.META.get("CSRF_COOKIE")
    if not secret or len(secret) != CSRF_SECRET_LENGTH:
        return get_token(request)  # no cookie yet: Django makes one
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    chars, n = CSRF_ALLOWED_CHARS, len(CSRF_ALLOWED_CHARS)
    limit = 256 - 256 % n  # bytes at or above it would favour some characters
    mask: list[int] = []
    while len(mask) < CSRF_SECRET_LENGTH:
        mask += [b % n for b in secrets.token_bytes(CSRF_SECRET_LENGTH) if b < limit]
    mask = mask[:CSRF_SECRET_LENGTH]
    index = {c: i for i, c in enumerate(chars)}
    try:
        cipher = "".join(chars[(index[c] + m) % n] for c, m in zip(secret, mask, strict=True))
    except KeyError:  # not a secret Django would have accepted: let Django handle it
        return get_token(request)
    return "".join(chars[m] for m in mask) + cipher


@require_http_methods(["GET", "POST"])
def checkin(request, token: str):
    if request.method == "GET":
        return _no_store(_page(request, "checkins/checkin_pad.html", {}))
    action = request.POST.get("action", services.PersonAction.CHECKIN)
    if action not in ACTIONS:
        action = services.PersonAction.CHECKIN
    try:
        days = max(1, min(int(request.POST.get("pause_days") or 1), services.MAX_PAUSE_DAYS))
    except ValueError:
        days = 1
    services.record_checkin(
        None,
        request.POST.get("pin", "")[:32],
        token=token,
        channel="web",
        ip=client_ip(request),
        action=action,
        pause_days=days,
    )
    return _no_store(
        _page(request, "checkins/checkin_done.html", {"action": action, "pause_days": days})
    )
