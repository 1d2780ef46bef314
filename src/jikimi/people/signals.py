"""Signals of the people app for the apps above it (which people must not import).

`people_created`: sent by `services.create_people_bulk` after it bulk-inserted people with
their identities, inside the caller's transaction (`person_ids`: the new people, in order).
A bulk insert sends no `post_save`, so an app that follows new identities (linkage) hears of
the batch here, once.
"""

from django.dispatch import Signal

people_created = Signal()
