"""Mounted at `api/linkage/` by the API's urls."""

from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("review/", api.ReviewQueueView.as_view(), name="api-linkage-review"),
    path("review/<uuid:item_id>/confirm/", api.ReviewConfirmView.as_view()),
    path("review/<uuid:item_id>/reject/", api.ReviewRejectView.as_view()),
    path("links/<uuid:link_id>/unlink/", api.UnlinkView.as_view()),
]
