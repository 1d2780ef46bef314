"""Link continuously: a new name or birth date of a person starts linkage after the commit.

After the commit, because the identity's blind-index rows are written after the identity
itself, and an import adds several identities per person in one transaction: waiting for the
commit lets linkage see the finished person once. Several identities of one person in one
transaction schedule one run, and all the people saved in one transaction are linked as one
batch after it. A failure in linkage is logged (by person id and error type
only) and does not undo the person that was saved.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from jikimi.people.models import Identity, IdentityKind, Person
from jikimi.people.signals import people_created

log = logging.getLogger(__name__)

LINKED_KINDS = (IdentityKind.NAME, IdentityKind.BIRTH_DATE)
#: Person fields the comparison uses: a change re-runs linkage.
COMPARED_FIELDS = frozenset({"birth_year", "sex", "province", "defection_year"})


class _LinkAfterCommit:
    """The on-commit callback of one transaction: every person saved in it, linked together
    (`services.link_people`, which shares decrypted candidates between them — an import of
    thousands of people is one batch, not thousands of separate runs)."""

    def __init__(self, person_id: Any) -> None:
        self.person_ids: dict[Any, None] = {person_id: None}
        self.done = False

    def __call__(self) -> None:
        from jikimi.linkage import services

        self.done = True
        try:
            services.link_people(list(self.person_ids), on_failure=_failed)
        except Exception as exc:  # noqa: BLE001 - the people are saved; report, don't undo
            for person_id in self.person_ids:
                _failed(person_id, exc)


def _failed(person_id: Any, exc: Exception) -> None:
    # The type only: an exception's text might quote a decrypted name.
    log.error("linkage of person id %s failed: %s", person_id, type(exc).__name__)
    _alert_staff_of_failure(person_id, type(exc).__name__)


def _alert_staff_of_failure(person_id: Any, error: str) -> None:
    """A failed linkage could hide a reappearance: nothing silent, so staff get an alert."""
    from jikimi.alerts.services import raise_alert
    from jikimi.people.models import Person

    person = Person.objects.filter(pk=person_id).only("code", "organisation_id").first()
    if person is None:  # deleted meanwhile: nothing left to link
        return
    raise_alert(
        organisation_id=person.organisation_id,
        person=person,
        source_app="linkage",
        kind="linkage_failure",
        key=f"linkage_failure:{person.code}",
        detail={"person": person.code, "error": error},
    )


def schedule_linkage(person_id: Any) -> None:
    """Run `services.link_person(person_id)` once, after the current transaction commits."""
    if not getattr(settings, "JIKIMI_LINKAGE_ON_SAVE", True):
        return
    if connection.in_atomic_block:
        # Join the transaction's batch. Its callback can only be dropped by rolling back a
        # savepoint that is still open, and everything saved now is inside that savepoint
        # too; a person whose own savepoint is rolled back stays in the batch and is
        # skipped (linking a person who does not exist does nothing).
        for entry in connection.run_on_commit:  # (savepoint ids, callback, robust)
            func = entry[1]
            # (a test's captured callbacks stay in the list once run: skip those)
            if isinstance(func, _LinkAfterCommit) and not func.done:
                func.person_ids[person_id] = None
                return
    transaction.on_commit(_LinkAfterCommit(person_id), robust=True)


@receiver(post_save, sender=Identity, dispatch_uid="jikimi.linkage.identity_saved")
def identity_saved(sender, instance: Identity, created: bool, **kwargs) -> None:
    if created and instance.kind in LINKED_KINDS and not kwargs.get("raw"):
        schedule_linkage(instance.person_id)


@receiver(post_save, sender=Person, dispatch_uid="jikimi.linkage.person_saved")
def person_saved(sender, instance: Person, created: bool, update_fields=None, **kwargs) -> None:
    """A changed birth year, sex or province may make (or unmake) a match. A new person is
    linked when its first name identity is saved, just after."""
    if created or kwargs.get("raw"):
        return
    if update_fields is not None and not (COMPARED_FIELDS & set(update_fields)):
        return  # e.g. only the display name
    schedule_linkage(instance.pk)


@receiver(people_created, dispatch_uid="jikimi.linkage.people_created")
def people_bulk_created(sender, person_ids, **kwargs) -> None:
    """People bulk-inserted with their identities (`people.services.create_people_bulk`):
    all of them join the transaction's one linkage batch, as their identities' post_save
    would have scheduled them one by one."""
    for person_id in person_ids:
        schedule_linkage(person_id)
