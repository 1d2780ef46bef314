from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "jikimi.audit"
    label = "audit"
