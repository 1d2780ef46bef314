"""The OpenAPI schema's answers that no view declares: the error bodies and their codes.

Every API view answers its errors the same way (`jikimi.api.errors`, DRF's authentication
and permissions), so they are added here once, to every operation that can give them:

- 400 `ValidationError` where there is input to refuse (a body or query parameters) or a
  change the object's state may refuse (every method but GET):
  `{"field": ["message"]}`, `non_field_errors` for the request as a whole; a field that is a
  list or an object has its messages nested by item or key.
- 401 `Error` (no token, or one that is refused), 403 `Error` (a role that may not do this,
  a wrong password, a browser session without its CSRF token), 404 `Error` where the path
  names an object (none the caller may see, whether or not it exists), 415 `Error` where there
  is a body (one that is not JSON).
"""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": "The reason, in the language of the request (Accept-Language).",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Messages by field name (`non_field_errors`: the request as a whole). "
    "A list or object field has its messages nested by item index or key.",
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]
    },
}
_DESCRIPTIONS = {
    "400": "Invalid input: the messages name the fields.",
    "401": "No API token, or one that is refused (unknown, revoked, expired).",
    "403": "Not allowed for your role, or a sensitive action without the right password.",
    "404": "No such object that you may see (whether it exists is not said).",
    "415": "The body is not JSON.",
}


def _response(component: str, code: str) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    schemas["ValidationError"] = VALIDATION_ERROR
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            places = {p.get("in") for p in operation.get("parameters", [])}
            responses = operation["responses"]
            codes = ["401", "403"]
            if method != "get" or "query" in places:
                # Input to refuse, or a state that refuses the change (not paused, decided).
                codes.append("400")
            if "path" in places:
                codes.append("404")
            if "requestBody" in operation:
                codes.append("415")
            # A view may name one of these codes itself, with its own description (a 404
            # for an object its body names): it gets the same body.
            codes += [code for code in responses if code in _DESCRIPTIONS]
            for code in codes:
                component = "ValidationError" if code == "400" else "Error"
                given = responses.setdefault(code, _response(component, code))
                given.setdefault("content", _response(component, code)["content"])
            operation["responses"] = dict(sorted(responses.items()))
    return result
