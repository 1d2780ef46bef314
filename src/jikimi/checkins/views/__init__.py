"""Thin views: one module per page or hook; the logic is in services.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required

# Log-in required. Service errors (NotFound → 404, AccessDenied → 403) are answered by
# jikimi.core.errors.ServiceErrorMiddleware, like on every page.
staff_view = login_required
