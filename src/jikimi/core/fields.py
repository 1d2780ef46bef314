"""EncryptedTextField: a text column stored as AES-GCM ciphertext bound to its row.

The row id is part of the associated data, so models using this field need a primary key
that is known before the first save (a UUID default).

How it works: the column's raw value in `instance.__dict__` is either plaintext (just
assigned) or a `Sealed` ciphertext (loaded from the database). Reading the attribute
decrypts a `Sealed` value lazily — only fields actually shown are decrypted — and
`pre_save` encrypts plaintext.
"""

from __future__ import annotations

from django.db import models

from . import crypto


class Sealed(str):
    """A ciphertext as loaded from the database."""


class _Descriptor:
    def __init__(self, field: EncryptedTextField) -> None:
        self.field = field

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname)
        if isinstance(value, Sealed):
            cache = instance.__dict__.setdefault("_plaintext_cache", {})
            if self.field.attname not in cache:
                cache[self.field.attname] = crypto.decrypt(value, self.field.aad(instance))
            return cache[self.field.attname]
        return value

    def __set__(self, instance, value) -> None:
        instance.__dict__.get("_plaintext_cache", {}).pop(self.field.attname, None)
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """`row_id_field` names the attribute bound into the associated data (default: the pk;
    a model whose pk is an auto-increment integer uses a UUID column instead, since the
    integer is unknown before the first insert)."""

    def __init__(self, *args, row_id_field: str = "pk", **kwargs):
        self.row_id_field = row_id_field
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.row_id_field != "pk":
            kwargs["row_id_field"] = self.row_id_field
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only)
        setattr(cls, self.attname, _Descriptor(self))

    def aad(self, instance) -> bytes:
        row_id = getattr(instance, self.row_id_field)
        assert self.column is not None  # set when the field joined its model
        return crypto.associated_data(self.model._meta.db_table, self.column, row_id)

    def from_db_value(self, value, expression, connection):
        return None if value is None else Sealed(value)

    def pre_save(self, model_instance, add):
        value = model_instance.__dict__.get(self.attname)
        if value is None:
            return None
        if isinstance(value, Sealed):
            return str(value)
        if getattr(model_instance, self.row_id_field) is None:
            raise ValueError(
                f"{self.model.__name__} needs its {self.row_id_field} before encryption"
            )
        return crypto.encrypt(str(value), self.aad(model_instance))

    def ciphertext(self, instance) -> str | None:
        """The stored ciphertext (for key rotation), without decrypting."""
        value = instance.__dict__.get(self.attname)
        return str(value) if isinstance(value, Sealed) else None
