"""Inbound SMS from the gateway: `POST /hooks/sms/<channel id>`, HMAC-signed JSON.

Body: {"from": "+8210…", "text": "OK 1234"}. Answer: {"reply": "…"} for the gateway to
send back — the same reply for a right, duress or wrong PIN (and for an unknown sender).
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import sms


@csrf_exempt  # authenticated by the HMAC signature instead
@require_POST
def sms_hook(request, channel_id):
    try:
        reply = sms.handle_inbound(channel_id, request.body, request.headers)
    except sms.BadRequest as exc:
        return HttpResponse(str(exc), status=exc.status, content_type="text/plain")
    return JsonResponse({"reply": reply}, json_dumps_params={"ensure_ascii": False})
