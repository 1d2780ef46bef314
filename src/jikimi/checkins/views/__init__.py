"""Thin views: one module per page or hook; the logic is in services.py."""

from __future__ import annotations

# One mapping of service errors to HTTP for every staff page (404 for records, 403 for
# actions): the alerts app's, which is plain log-in required (ServiceErrorMiddleware maps).
from jikimi.alerts.views import staff_view

__all__ = ["staff_view"]
