"""PINs: rules for choosing them, and one constant-time check of PIN and duress PIN."""

from __future__ import annotations

import hmac

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from jikimi.core.crypto import pepper_hash

MIN_LENGTH, MAX_LENGTH = 4, 8
COMMON = {
    "1234",
    "0000",
    "1111",
    "1212",
    "7777",
    "1004",
    "2000",
    "4444",
    "2222",
    "6969",
    "9999",
    "3333",
    "5555",
    "6666",
    "1122",
    "1313",
    "8888",
    "4321",
    "2001",
    "1010",
    "123456",
    "654321",
    "000000",
    "111111",
    "121212",
    "112233",
    "123123",
    "12345678",
    "11111111",
    "00000000",
    "88888888",
}


def hash_pin(enrolment_id: object, pin: str) -> str:
    # The enrolment id is part of the purpose: equal PINs of two people hash differently.
    return pepper_hash(f"checkin-pin:{enrolment_id}", pin)


def is_trivial(pin: str) -> bool:
    """All one digit, a run up or down (1234, 9876), a repeated pair (1212) or common."""
    if pin in COMMON or len(set(pin)) == 1:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:], strict=False)}
    if steps in ({1}, {9}):
        return True
    return len(pin) % 2 == 0 and pin == pin[:2] * (len(pin) // 2)


# The labels the set-up page shows for its two fields; each message names its field by them.
LABELS = {"pin": _("PIN"), "duress_pin": _("Emergency PIN")}


def _message(field: str, text):
    """ "PIN: …" in the language active when it is shown (lazy, so the API's and the
    page's request language both apply)."""
    return format_lazy("{}: {}", LABELS[field], text)


def pin_errors(pin: str, duress: str) -> dict:
    """What is wrong with the chosen PINs, by field (`pin`, `duress_pin`: stable keys for
    the API); each message is translatable and starts with the field's label."""
    errors: dict = {}
    for name, value in (("pin", pin), ("duress_pin", duress)):
        if not value.isdigit() or not MIN_LENGTH <= len(value) <= MAX_LENGTH:
            errors[name] = _message(
                name,
                format_lazy(_("use {min} to {max} digits."), min=MIN_LENGTH, max=MAX_LENGTH),
            )
        elif is_trivial(value):
            errors[name] = _message(
                name,
                _("too easy to guess (repeated digits, runs such as 1234, common numbers)."),
            )
    if not errors:
        if len(pin) != len(duress):
            # Same length, so someone watching cannot tell which one was typed.
            errors["duress_pin"] = _message("duress_pin", _("must have as many digits as the PIN."))
        elif pin == duress:
            errors["duress_pin"] = _message("duress_pin", _("must be different from the PIN."))
    return errors


def classify(enrolment_id: object, pin_hash: str, duress_hash: str, submitted: str) -> str:
    """ "ok", "duress" or "wrong", in the same time whichever it is.

    One HMAC, then both comparisons always run (compare_digest is constant-time) and the
    result is picked without a short-circuit, so the duress path is not measurably slower
    or faster than the normal one (DESIGN §3).
    """
    digest = hash_pin(enrolment_id, submitted[: MAX_LENGTH * 2])
    is_ok = hmac.compare_digest(digest, pin_hash or "-")
    is_duress = hmac.compare_digest(digest, duress_hash or "-")
    return ("wrong", "ok", "duress", "wrong")[int(is_ok) + 2 * int(is_duress)]
