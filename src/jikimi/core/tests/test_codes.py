"""Ids and public codes (`core.codes`)."""

from __future__ import annotations

import time
import uuid

from jikimi.core.codes import uuid7


def test_uuid7_is_a_version_7_uuid_of_the_current_millisecond():
    before = time.time_ns() // 1_000_000
    drawn = [uuid7() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    assert len(set(drawn)) == len(drawn)
    for value in drawn:
        assert value.version == 7 and value.variant == uuid.RFC_4122
        assert before <= value.int >> 80 <= after  # the 48-bit Unix time in milliseconds
        # It reads back from its text form, as a UUID field stores it (hex on SQLite).
        assert uuid.UUID(value.hex) == value == uuid.UUID(str(value))


def test_uuid7_ids_drawn_later_sort_later_and_the_rest_is_random():
    first = uuid7()
    time.sleep(0.002)
    second = uuid7()
    assert first < second and first.hex < second.hex  # the order an index keeps them in
    # 74 random bits: within one millisecond two draws agree on the time only.
    same_ms = [uuid7() for _ in range(200)]
    by_ms: dict[int, list[int]] = {}
    for value in same_ms:
        by_ms.setdefault(value.int >> 80, []).append(value.int & ((1 << 76) - 1))
    randoms = [r for group in by_ms.values() for r in group]
    assert len(set(randoms)) == len(randoms)
    low_bits = {r & 0xFF for r in randoms}
    assert len(low_bits) > 100  # the low byte spread over its values, not fixed


def test_uuid7_random_bits_are_never_shared_by_a_forked_child_or_two_threads():
    import os
    import threading

    from jikimi.core import codes

    uuid7()  # the pool holds draws now; a forked child must not hand the same ones out
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next draws, then out without running the test's teardown
        try:
            os.write(write, b"".join(uuid7().bytes for _ in range(5)))
        finally:
            os._exit(0)
    os.close(write)
    child = os.read(read, 80)
    os.close(read)
    os.waitpid(pid, 0)
    parent = [uuid7() for _ in range(5)]
    child_randoms = {int.from_bytes(child[i : i + 16]) & ((1 << 76) - 1) for i in range(0, 80, 16)}
    assert len(child_randoms) == 5
    assert not child_randoms & {u.int & ((1 << 76) - 1) for u in parent}

    drawn: list[list[uuid.UUID]] = [[], []]

    def draw(into: list[uuid.UUID]) -> None:
        for _ in range(3 * codes._POOL_DRAWS):  # several refills each, racing the other
            into.append(uuid7())

    threads = [threading.Thread(target=draw, args=(d,)) for d in drawn]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = [u.int & ((1 << 76) - 1) for d in drawn for u in d]
    assert len(set(both)) == len(both) == 6 * codes._POOL_DRAWS
