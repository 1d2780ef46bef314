"""Cases API routes; jikimi.api.urls includes this at /api/cases/ (no app_name)."""

urlpatterns = []
