"""Cases API routes; jikimi.api.urls includes this at /api/cases/ (no app_name)."""

from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("", api.CasesView.as_view(), name="api-cases"),
    path("worklists/deadlines/", api.DeadlinesThisWeekView.as_view()),
    path("worklists/no-family-contact/", api.NoFamilyContactView.as_view()),
    path("worklists/overview/", api.OverviewView.as_view()),
    path("kind-policies/", api.KindPoliciesView.as_view()),
    path("kind-policies/<str:kind>/", api.KindPolicyView.as_view()),
    path("referrals/incoming/", api.IncomingReferralsView.as_view()),
    path("referrals/<str:referral_code>/approve/", api.ReferralApproveView.as_view()),
    path("referrals/<str:referral_code>/accept/", api.ReferralAcceptView.as_view()),
    path("referrals/<str:referral_code>/decline/", api.ReferralDeclineView.as_view()),
    path("deadlines/<int:deadline_id>/met/", api.DeadlineMetView.as_view()),
    path("deadlines/<int:deadline_id>/cancelled/", api.DeadlineCancelView.as_view()),
    path("<str:case_code>/", api.CaseView.as_view(), name="api-case"),
    path("<str:case_code>/status/", api.StatusView.as_view()),
    path("<str:case_code>/deadlines/", api.DeadlinesView.as_view()),
    path("<str:case_code>/actions/", api.ActionsView.as_view()),
    path("<str:case_code>/family-contacts/", api.FamilyContactsView.as_view()),
    path("<str:case_code>/referrals/", api.ReferralsView.as_view()),
]
