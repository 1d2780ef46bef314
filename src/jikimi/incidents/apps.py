from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IncidentsConfig(AppConfig):
    name = "jikimi.incidents"
    label = "incidents"

    def ready(self) -> None:
        from jikimi.core.filestore import register_evidence_source
        from jikimi.core.importers import register_importer
        from jikimi.core.lazy import lazy

        register_importer("incidents", "acts", lazy("jikimi.incidents.importer:import_incidents"))
        # `jikimi evidence verify` and key rotation see every evidence file of incidents.
        register_evidence_source(
            "incidents",
            lazy("jikimi.incidents.evidence:source_files"),
            lazy("jikimi.incidents.evidence:source_rewrapped"),
        )
        # New entries of the data files appear after every migrate (`jikimi init` runs one).
        post_migrate.connect(_seed, sender=self, dispatch_uid="jikimi.incidents.seed")


def _seed(sender, using="default", apps=None, **kwargs) -> None:
    from .seeding import seed

    seed(apps, using=using)
