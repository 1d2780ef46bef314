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
        # accounts (below notify) e-mails staff through the outbox by asking with a signal;
        # the receiver imports the outbox only when called.
        from jikimi.accounts.signals import staff_email

        from .receivers import on_staff_email

        staff_email.connect(on_staff_email, dispatch_uid="notify.staff_email")
