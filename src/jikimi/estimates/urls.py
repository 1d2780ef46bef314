"""Estimate pages; the lead includes them at /estimates/."""

from django.urls import path

from . import views

app_name = "estimates"
urlpatterns = [
    path("", views.estimate_page, name="index"),
    path("table.csv", views.table_csv, name="table_csv"),
]
