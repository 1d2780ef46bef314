from __future__ import annotations

from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login", views.login_view, name="login"),
    # Under /accounts/login so the verified-staff middleware lets the login page fetch it.
    path("login/demo-codes", views.demo_codes, name="demo_codes"),
    path("logout", views.logout_view, name="logout"),
    path("reauth", views.reauth_view, name="reauth"),
    path("me", views.account_view, name="account"),
    path("tokens", views.tokens_view, name="tokens"),
    # The one-time link of an invitation or a second-factor reset (no sign-in needed).
    path("enrol/<str:token>", views.enrol_view, name="enrol"),
]
