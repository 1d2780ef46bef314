from __future__ import annotations

from django.urls import path

from . import views

app_name = "linkage"
urlpatterns = [
    path("review/", views.review_list, name="review"),
    path("review/<uuid:item_id>/", views.review_detail, name="review_detail"),
    path("review/<uuid:item_id>/confirm", views.review_confirm, name="review_confirm"),
    path("review/<uuid:item_id>/reject", views.review_reject, name="review_reject"),
    path("people/<str:code>/", views.cluster, name="cluster"),
    path("links/<uuid:link_id>/unlink", views.unlink, name="unlink"),
]
