from __future__ import annotations

from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("new", views.open_case, name="new"),
    path("overview", views.overview, name="overview"),
    path("policies", views.kind_policies, name="kind_policies"),
    path("referrals", views.referrals, name="referrals"),
    path(
        "referrals/<str:referral>/<str:decision>",
        views.decide_referral,
        name="decide_referral",
    ),
    path("<str:code>/", views.case_page, name="case"),
    path("<str:code>/status", views.change_status, name="change_status"),
    path("<str:code>/contacts", views.log_contact, name="log_contact"),
    path("<str:code>/referrals", views.refer, name="refer"),
    path("<str:code>/policy", views.set_policy, name="set_policy"),
]
