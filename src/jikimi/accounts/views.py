"""The staff login flow (password, then a TOTP code), re-authentication and account pages.

Views stay thin: every decision (lock-out, code checks, audit rows) is in accounts.services.
"""

from __future__ import annotations

import math

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jikimi.audit import services as audit
from jikimi.core.errors import InvalidInput
from jikimi.core.redirects import safe_next

from . import services
from .forms import CodeStepForm, NewPasswordForm, PasswordStepForm, ReauthForm
from .http import StaffRequest, is_verified
from .models import ApiToken, User

# Between the two login steps the session holds only the id of the user who passed the
# password; they are not logged in until the code is right.
PENDING_KEY = "jikimi_login_pending"
# The pending step expires so a password typed on a shared machine cannot be finished later.
PENDING_SECONDS = 300
DEMO_PREFIX = "demo-"


def _safe_next(request: HttpRequest, default: str = "") -> str:
    return safe_next(request, default or reverse(settings.LOGIN_REDIRECT_URL))


def _locked_minutes(username: str) -> int:
    until = User.objects.filter(username=username).values_list("locked_until", flat=True).first()
    if until is None:
        return settings.JIKIMI_LOCKOUT_MINUTES
    return max(1, math.ceil((until - timezone.now()).total_seconds() / 60))


def _locked_message(username: str) -> str:
    minutes = _locked_minutes(username)
    return ngettext(
        "This account is locked after too many failed attempts. Try again in %(n)d minute.",
        "This account is locked after too many failed attempts. Try again in %(n)d minutes.",
        minutes,
    ) % {"n": minutes}


def _failure_message() -> str:
    """The login's one answer to every failure: a wrong user name, password or code and a
    locked account read the same, so nobody learns which accounts exist by locking them."""
    minutes = settings.JIKIMI_LOCKOUT_MINUTES
    return " ".join(
        (
            _("The sign-in details are not correct."),
            ngettext(
                "After %(attempts)d failed attempts an account is locked for %(n)d minute.",
                "After %(attempts)d failed attempts an account is locked for %(n)d minutes.",
                minutes,
            )
            % {"attempts": settings.JIKIMI_LOCKOUT_ATTEMPTS, "n": minutes},
        )
    )


def _pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(PENDING_KEY)
    if not pending or timezone.now().timestamp() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    return User.objects.filter(pk=pending["user"], is_active=True).first()


# What each demo account shows a visitor (the demo's data is seeded by jikimi.ops.demo into
# the first organisation; the others hold people of their own only).
DEMO_ROLE_SHOWS = {
    "caseworker": _lazy(
        "People and their identities: search 이지현, Lee Ji-hyun or Ri Ji Hyon. Check-in "
        "enrolments (one paused), the alert board, and deciding pairs in the review queue."
    ),
    "supervisor": _lazy(
        "The alert board (missed check-in, duress PIN, a drill, a closed alert with its "
        "reason), escalation policies, the review queue and estimates."
    ),
    "admin": _lazy(
        "Everything: people, check-ins, alerts, the review queue, estimates, the audit log "
        "and staff accounts."
    ),
    "analyst": _lazy(
        "Estimates from four overlapping source lists, and the review queue by person code, "
        "without names."
    ),
    "auditor": _lazy("The audit log and its chain check, and every person's audit trail."),
}
DEMO_OTHER_ORGANISATION = _lazy(
    "Another organisation: sees only its own people, never those of %(organisation)s."
)


def demo_accounts() -> list[dict]:
    """Demo mode only: the seeded demo users, what each shows, and the code their
    authenticator shows now."""
    if not settings.DEMO:
        return []
    users = list(
        User.objects.filter(username__startswith=DEMO_PREFIX)
        .select_related("organisation")
        .order_by("organisation__slug", "username")
    )
    # The demo's data is the first organisation's (its admin's): its accounts first, the
    # case worker (who sees the most) leading, then the other organisations'.
    first = next((u.organisation for u in users if u.username == "demo-admin"), None)
    first_org = first.pk if first else None
    order = list(DEMO_ROLE_SHOWS)
    users.sort(
        key=lambda u: (
            u.organisation_id != first_org,
            order.index(u.role) if u.role in order else len(order),
            u.organisation.slug if u.organisation else "",
            u.username,
        )
    )
    rows = []
    for user in users:
        device = services.totp_device(user)
        rows.append(
            {
                "username": user.username,
                "role": user.get_role_display(),
                "shows": DEMO_ROLE_SHOWS.get(user.role, "")
                if first is None or user.organisation_id == first.pk
                else DEMO_OTHER_ORGANISATION % {"organisation": first.slug},
                "organisation": user.organisation.slug if user.organisation else "",
                "code": device.current_token() if device else "",
            }
        )
    return rows


def login_view(request: HttpRequest) -> HttpResponse:
    if is_verified(request.user):
        return redirect(_safe_next(request))
    step = "code" if _pending_user(request) else "password"
    if request.GET.get("restart"):
        request.session.pop(PENDING_KEY, None)
        step = "password"
    password_form, code_form, error, status = PasswordStepForm(), CodeStepForm(), "", 200

    if request.method == "POST" and request.POST.get("step") == "password":
        password_form = PasswordStepForm(request.POST)
        if password_form.is_valid():
            username = password_form.cleaned_data["username"]
            try:
                user = services.check_password(
                    request, username, password_form.cleaned_data["password"]
                )
            except services.LoginFailed:
                error, status = _failure_message(), 400
            else:
                request.session.cycle_key()  # a new session id once the password is known
                request.session[PENDING_KEY] = {"user": user.pk, "at": timezone.now().timestamp()}
                step, password_form = "code", PasswordStepForm()
        else:
            status = 400
    elif request.method == "POST" and request.POST.get("step") == "code":
        pending_user = _pending_user(request)
        if pending_user is None:
            error, status, step = (
                _("Your sign-in took too long. Please start again."),
                400,
                "password",
            )
        else:
            code_form = CodeStepForm(request.POST)
            step = "code"
            if code_form.is_valid():
                try:
                    device = services.check_second_factor(
                        pending_user, code_form.cleaned_data["code"]
                    )
                except services.LoginFailed as exc:
                    error, status = _failure_message(), 400
                    if exc.reason == "locked":
                        request.session.pop(PENDING_KEY, None)
                        step = "password"
                else:
                    request.session.pop(PENDING_KEY, None)
                    auth_login(
                        request, pending_user, backend="django.contrib.auth.backends.ModelBackend"
                    )
                    django_otp.login(request, device)
                    return redirect(_safe_next(request))
            else:
                status = 400

    return render(
        request,
        "accounts/login.html",
        {
            "step": step,
            "password_form": password_form,
            "code_form": code_form,
            "error": error,
            "next": request.POST.get("next") or request.GET.get("next", ""),
            "demo_accounts": demo_accounts(),
            "demo": settings.DEMO,
        },
        status=status,
    )


def demo_codes(request: HttpRequest) -> HttpResponse:
    """The demo account table alone, fetched again by htmx every 30 seconds."""
    if not settings.DEMO:
        raise Http404
    return render(request, "accounts/_demo_accounts.html", {"demo_accounts": demo_accounts()})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record(
            "logout", actor=request.user, object_type="user", object_ref=str(request.user.pk)
        )
    auth_logout(request)
    return redirect("accounts:login")


@login_required
def reauth_view(request: HttpRequest) -> HttpResponse:
    form, error, status = ReauthForm(), "", 200
    if request.method == "POST":
        form = ReauthForm(request.POST)
        if form.is_valid():
            try:
                services.reauthenticate(request, form.cleaned_data["password"])
            except services.LoginFailed as exc:
                # Signed in, so saying "locked" tells nobody whether an account exists.
                error = (
                    _locked_message(request.user.username)
                    if exc.reason == "locked"
                    else _("The password is not correct.")
                )
            else:
                return redirect(_safe_next(request, reverse("accounts:account")))
        else:
            error = _("The password is not correct.")
        status = 400
    return render(
        request,
        "accounts/reauth.html",
        {
            "form": form,
            "error": error,
            "next": _safe_next(request, reverse("accounts:account")),
        },
        status=status,
    )


def reauth_redirect(next_url: str) -> HttpResponse:
    """Send the user to type their password again, then back to `next_url` (DESIGN §3)."""
    from urllib.parse import urlencode

    return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': next_url})}")


@login_required
def account_view(request: StaffRequest) -> HttpResponse:
    """Who am I, and the QR code to enrol an authenticator (after re-auth: it is the secret)."""
    device = services.totp_device(request.user)
    show_qr = request.GET.get("qr") == "1"
    if show_qr and not services.recently_authenticated(request):
        return reauth_redirect(f"{reverse('accounts:account')}?qr=1")
    qr = None
    if show_qr and device is not None:
        qr = segno.make(device.config_url(), error="m").svg_data_uri(scale=5, border=2)
        audit.record(
            "totp.show_secret",
            actor=request.user,
            object_type="user",
            object_ref=str(request.user.pk),
        )
    return render(request, "accounts/account.html", {"qr": qr, "device": device})


@login_required
@never_cache
def tokens_view(request: StaffRequest) -> HttpResponse:
    """List, create and revoke the user's API tokens. All of it needs a recent password check.

    A new token is shown once, in the answer to the POST that made it: it is never put in the
    session (sessions live in the database) and cannot be shown again.
    """
    if not services.recently_authenticated(request):
        return reauth_redirect(reverse("accounts:tokens"))
    new_key = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            _token, new_key = services.issue_api_token(request.user)
        elif action == "revoke":
            try:
                services.revoke_api_token(request.user, int(request.POST.get("token", "")))
            except ValueError:
                return HttpResponse(status=400)
            except ApiToken.DoesNotExist:
                raise Http404 from None
            return redirect("accounts:tokens")
        else:
            return HttpResponse(status=400)
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": services.api_tokens(request.user),
            "new_key": new_key,
            "now": timezone.now(),
            "lifetime_days": services.API_TOKEN_LIFETIME.days,
        },
    )


# --- The one-time link: an invitation or a new authenticator after a reset ----------------

ENROL_KEY = "jikimi_enrol_pending"
# Between choosing the password and typing the first code: long enough to install an app.
ENROL_SECONDS = 15 * 60


def _qr(device) -> str:
    return segno.make(device.config_url(), error="m").svg_data_uri(scale=5, border=2)


def _manual_key(device) -> str:
    """The secret in base32, in groups of four, for an app on the phone this page is on
    (a phone cannot scan its own screen)."""
    import base64

    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
def enrol_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET changes nothing (mail scanners and link previews fetch links). Step 1 (POST
    step=password) checks or chooses the password and makes a new, unconfirmed authenticator;
    step 2 (POST step=code) proves the app works, spends the link and enables the account."""
    try:
        link = services.open_link(token)
    except services.LinkRefused:
        request.session.pop(ENROL_KEY, None)
        return render(request, "accounts/enrol_invalid.html", status=404)
    invite = link.purpose == "invite"
    password_form = NewPasswordForm() if invite else ReauthForm()
    code_form, device, step, status = CodeStepForm(), None, "password", 200
    pending = request.session.get(ENROL_KEY)
    if (
        pending
        and pending.get("link") == link.pk
        and timezone.now().timestamp() - pending["at"] < ENROL_SECONDS
    ):
        try:
            device = services.pending_device(link, pending["device"])
            step = "code"
        except services.LinkRefused:
            request.session.pop(ENROL_KEY, None)
    if request.method == "POST" and request.POST.get("step") == "password":
        password_form = (NewPasswordForm if invite else ReauthForm)(request.POST)
        step, device = "password", None
        if password_form.is_valid():
            data = password_form.cleaned_data
            try:
                link, device, password_hash = services.start_enrolment(
                    token, data["password"], data.get("password_again", "")
                )
            except InvalidInput as exc:
                for field, message in exc.messages().items():
                    password_form.add_error(
                        field if field in password_form.fields else None, message
                    )
                status = 400
            else:
                request.session[ENROL_KEY] = {
                    "link": link.pk,
                    "device": str(device.uid),
                    "password": password_hash,
                    "at": timezone.now().timestamp(),
                }
                step = "code"
        else:
            status = 400
    elif request.method == "POST" and request.POST.get("step") == "code" and device and pending:
        code_form = CodeStepForm(request.POST)
        if code_form.is_valid():
            try:
                services.finish_enrolment(
                    token, pending["device"], code_form.cleaned_data["code"], pending["password"]
                )
            except InvalidInput as exc:
                code_form.add_error("code", exc.messages().get("code", ""))
                status = 400
            except services.LinkRefused:
                request.session.pop(ENROL_KEY, None)
                return render(request, "accounts/enrol_invalid.html", status=404)
            else:
                request.session.pop(ENROL_KEY, None)
                messages.success(
                    request,
                    _(
                        "Your account is ready. Sign in with your user name, your password "
                        "and a code from the app."
                    ),
                )
                return redirect("accounts:login")
        else:
            status = 400
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "accounts/enrol.html",
        {
            "link": link,
            "member": link.user,
            "invite": invite,
            "step": step,
            "password_form": password_form,
            "code_form": code_form,
            "qr": _qr(device) if device is not None and step == "code" else None,
            "manual_key": _manual_key(device) if device is not None and step == "code" else "",
            "otpauth": device.config_url() if device is not None and step == "code" else "",
        },
        status=status,
    )
