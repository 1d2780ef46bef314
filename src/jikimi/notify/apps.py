from django.apps import AppConfig

# Delivery runs after every pass that raises alerts (they use lower orders).
DELIVERY_ORDER = 100


class NotifyConfig(AppConfig):
    name = "jikimi.notify"
    label = "notify"

    def ready(self) -> None:
        from jikimi.core.lazy import lazy
        from jikimi.core.monitor import register_pass

        # notify owns the outbox, so it owns its delivery in `jikimi monitor`.
        register_pass(
            "notify.deliver", lazy("jikimi.notify.services:delivery_pass"), order=DELIVERY_ORDER
        )
