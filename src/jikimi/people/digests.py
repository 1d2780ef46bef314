"""The blind-index digests of an identity's value, without Django: what the people search
and linkage look a value up by (docs/security.md says what each key reveals).

`identity_digests` is the one definition (people.services indexes through it). It needs
only the pure name and record rules (`jikimi.lib`) and a keyed hash, so that a large
import can compute its digests in a second process (`DigestWorker`) while the first one
validates and writes: on two cores that takes the hashing of an import's tens of keys per
person off the writer's path (issue #14, 100,000 rows in 60 s).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from jikimi.core.crypto import BlindIndexer, normalise_for_index
from jikimi.lib.fuzzy_names import typo_keys, typo_query_keys
from jikimi.lib.korean import index_keys
from jikimi.lib.records import normalise_phone

# people.models.IdentityKind's values (that module needs Django).
NAME, PHONE, EMAIL, BIRTH_DATE = "name", "phone", "email", "birth_date"

# The kind of the typo keys' HMAC: their digests can never equal an exact key's, so the two
# indexes cannot be joined (docs/security.md says what each reveals).
TYPO_INDEX_KIND = "name_typo"

HANGUL_RE = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
HANZI_RE = re.compile(r"[\u4e00-\u9fff]")

Index = Callable[[str, str], str]


def typo_digests(value: str, index: Index) -> set[str]:
    """The typo digests a stored name is indexed under (one a form of it)."""
    return {index(TYPO_INDEX_KIND, key) for key in typo_keys(value)}


def typo_query_digests(value: str, index: Index) -> set[str]:
    """The typo digests a search looks `value` up under (its forms and every string one
    typing error from them: a few thousand)."""
    return {index(TYPO_INDEX_KIND, key) for key in typo_query_keys(value)}


def identity_digests(kind: str, value: str, index: Index) -> set[str]:
    """The digests of an identity's value; `index` is `core.crypto.blind_index` or a bulk
    writer's `BlindIndexer` (the same digests)."""
    if kind == NAME:
        return {index("name", key) for key in index_keys(value)} | typo_digests(value, index)
    if kind == PHONE:
        digits = normalise_phone(value)
        return {index("phone", digits)} if len(digits) >= 6 else set()
    if kind == EMAIL:
        return {index("email", value.strip().casefold())}
    if kind == BIRTH_DATE:
        return {index("birth_date", normalise_for_index(value))}
    return set()


def guess_script(value: str) -> str:
    """people.models.Script's value for a name (the values are spelt here)."""
    if HANGUL_RE.search(value):
        return "hangul"
    if HANZI_RE.search(value):
        return "hanzi"
    if value.isascii() or re.fullmatch(r"[\w\s'’\-.ŏŭŎŬ]+", value):
        return "latin"
    return "other"


Digested = tuple[list[str], str]  # (sorted digests, script)


def digest_values(values: Sequence[tuple[str, str]], index: Index) -> list[Digested]:
    """Each (kind, value)'s sorted digests and its script ("" but for names)."""
    return [
        (sorted(identity_digests(kind, value, index)), guess_script(value) if kind == NAME else "")
        for kind, value in values
    ]


# --- The second process --------------------------------------------------------------------

_worker_index: BlindIndexer | None = None


def _start_worker(key: bytes) -> None:
    global _worker_index
    _worker_index = BlindIndexer(key)
    _end_with_parent()


def _end_with_parent() -> None:
    """End this child as soon as its parent is gone. A parent killed (not closing the pool)
    would otherwise leave it waiting for ever: it holds both ends of its queues' pipes, so it
    never reads an end of file — and it holds the blind-index key. A thread waits on the
    parent's sentinel (readable once the parent has exited) and ends the process."""
    import multiprocessing
    import multiprocessing.connection
    import os
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - always a child here
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="jikimi-parent-watch", daemon=True).start()


def _digest_in_worker(values: Sequence[tuple[str, str]]) -> list[Digested]:
    assert _worker_index is not None, "the worker was started without its key"
    return digest_values(values, _worker_index)


class DigestWorker:
    """Digests of many values computed ahead in one child process.

    `submit` hands it a batch of (kind, value) pairs and returns at once; `result` gives a
    batch's digests (waiting if the child is still on it). The child is started with
    "spawn" (a fresh interpreter: nothing of this process — its threads, its database
    connection — crosses into it) and given the blind-index key through its start-up
    pipe, never through a file or the environment; it imports only this module's pure
    rules and exits when `close` is called, or as soon as this process ends however it
    ends (`_end_with_parent`).

    Nothing depends on it working: if the child cannot start or dies, `result` computes
    the batch here, so an import is never lost or changed by it (the digests are the same
    either way: `test_import_fast` checks them against `blind_index`).
    """

    def __init__(self, key: bytes, index: Index) -> None:
        import multiprocessing

        self._index = index  # for a batch the child could not do
        self.answered = 0  # values the child answered
        self._pool: ProcessPoolExecutor | None
        try:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(key,),
            )
        except (OSError, RuntimeError):  # pragma: no cover - no processes on this host
            self._pool = None

    def submit(self, values: Sequence[tuple[str, str]]) -> Future[list[Digested]] | None:
        if self._pool is None:
            return None
        try:
            return self._pool.submit(_digest_in_worker, list(values))
        except RuntimeError:  # a broken or shut-down pool: computed here instead
            self._pool = None
            return None

    def result(
        self, future: Future[list[Digested]] | None, values: Sequence[tuple[str, str]]
    ) -> list[Digested]:
        if future is not None:
            try:
                found = future.result()
                if len(found) == len(values):
                    self.answered += len(found)
                    return found
            except Exception:  # noqa: BLE001 - a dead child: the batch is computed here
                self._pool = None
        return digest_values(values, self._index)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


__all__: list[Any] = [
    "BIRTH_DATE",
    "EMAIL",
    "NAME",
    "PHONE",
    "TYPO_INDEX_KIND",
    "DigestWorker",
    "digest_values",
    "guess_script",
    "identity_digests",
    "typo_digests",
    "typo_query_digests",
]
