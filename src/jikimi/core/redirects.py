"""Where a page may send the browser next: the one check for every `next` parameter.

A `next` comes from the request, so anyone can write a link that sets it. Followed as
given, it sends a signed-in case worker to a look-alike site (`//evil.example/x`,
`https://evil.example/x`), and a value that is no URL of ours (`board`) made `redirect()`
look it up as a view name and fail with a 500.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, default: str) -> str:
    """The request's `next` (POST, then GET) when it is a path on this site that resolves to
    one of our views; `default` otherwise."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if is_safe_target(request, target) else default


def is_safe_target(request: HttpRequest, target: str) -> bool:
    # Only a path: "//host" and "/\host" are read by browsers as another host.
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return False
    try:
        resolve(urlsplit(target).path)
    except Resolver404:
        return False
    return True


def redirect_next(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Redirect to the request's safe `next`, else to `default` (a URL, not a view name)."""
    return HttpResponseRedirect(safe_next(request, default))
