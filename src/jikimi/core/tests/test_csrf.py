"""The CSRF cookie is HttpOnly, and the pages still pass the check (issue 12, point 17):
the token comes from the HTML (forms and base.html's hx-headers), never from the cookie."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from jikimi.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_csrf_cookie_is_http_only(db):
    client = Client(enforce_csrf_checks=True)
    response = client.get("/accounts/login")
    cookie = response.cookies["csrftoken"]
    assert cookie["httponly"] is True


def test_a_form_and_an_htmx_request_pass_with_the_token_from_the_page(staff):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    user = staff["caseworker"]
    form = {"step": "password", "username": user.username, "password": PASSWORD}
    assert client.post("/accounts/login", form).status_code == 403  # no token: refused
    response = client.post("/accounts/login", {**form, "csrfmiddlewaretoken": token})
    assert response.status_code == 200 and 'name="code"' in response.content.decode()
    header = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page).group(1)
    response = client.post(
        "/accounts/login",
        {"step": "password", "username": "nobody", "password": "x"},
        HTTP_X_CSRFTOKEN=header,
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400  # past the CSRF check: a wrong sign-in, not a 403
