"""The live alert board: duress first, then the oldest. Refreshed by board.js."""

from __future__ import annotations

from django.shortcuts import render

from .. import services
from . import staff_view


@staff_view
def board(request):
    alerts = services.alert_board(request.user)
    template = "checkins/_board_rows.html" if request.GET.get("fragment") else "checkins/board.html"
    return render(request, template, {"alerts": alerts})
