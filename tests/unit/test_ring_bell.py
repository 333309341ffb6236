"""Doorbells (runtime/ring_bell.py): a parked party is woken by whoever moves the cursor it
waits for, long before its park timeout; a ring's FIFOs go with it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from hftbook.runtime.ring import Park, Ring
from hftbook.runtime.ring_bell import bell_path

# Parks at once and for up to 10 s: a wait that ends well before that was rung.
LONG = Park(spins=0, yields=0, max_s=10.0)


@pytest.fixture
def ring() -> Iterator[Ring]:
    r = Ring.create(None, slots=8, slot_size=32, consumers=2, depends={1: [0]})
    yield r
    r.close()
    r.unlink()


def _in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    return t, out


def _parked(r: Ring, party_line_word: int) -> bool:
    return bool(r._q[party_line_word])


def _wait_parked(r: Ring, word: int) -> None:
    deadline = time.monotonic() + 5
    while not _parked(r, word):
        assert time.monotonic() < deadline, "never parked"
        time.sleep(0.001)


def test_a_parked_reader_wakes_on_publish_and_a_dependent_on_commit(ring: Ring) -> None:
    from hftbook.runtime.ring_layout import PARKED, consumer_word

    c0 = ring.consumer(0, wait=LONG)
    c1 = ring.consumer(1, wait=LONG)
    p = ring.producer(wait=LONG)
    t0, got0 = _in_thread(lambda: c0.read_batch(8))
    _wait_parked(ring, consumer_word(0, PARKED))
    t1, got1 = _in_thread(lambda: c1.read_batch(8))
    _wait_parked(ring, consumer_word(1, PARKED))
    start = time.monotonic()
    p.write(b"hello")
    t0.join(5)
    assert got0 == [[b"hello"]] and time.monotonic() - start < 5  # rung, not timed out
    assert t1.is_alive()  # consumer 1 reads behind consumer 0: nothing for it yet
    c0.commit()
    t1.join(5)
    assert got1 == [[b"hello"]] and time.monotonic() - start < 5
    assert not _parked(ring, consumer_word(0, PARKED)) and not _parked(ring, consumer_word(1, PARKED))


def test_a_parked_producer_wakes_when_the_slowest_consumer_commits(ring: Ring) -> None:
    from hftbook.runtime.ring_layout import PARKED, producer_word

    c0 = ring.consumer(0, wait=LONG)
    ring.consumer(1).close()
    p = ring.producer(wait=LONG)
    p.write_batch([b"x"] * 8)  # full
    t, done = _in_thread(lambda: p.write(b"y"))
    _wait_parked(ring, producer_word(PARKED))
    start = time.monotonic()
    assert len(c0.read_batch(8)) == 8
    c0.commit()
    t.join(5)
    assert done == [9] and time.monotonic() - start < 5


def test_the_end_of_the_stream_wakes_a_parked_reader(ring: Ring) -> None:
    from hftbook.runtime.ring_layout import PARKED, consumer_word

    c0 = ring.consumer(0, wait=LONG)
    ring.consumer(1).close()
    p = ring.producer(wait=LONG)
    t, got = _in_thread(lambda: c0.read_batch(8))
    _wait_parked(ring, consumer_word(0, PARKED))
    start = time.monotonic()
    p.close()
    t.join(5)
    assert got == [[]] and time.monotonic() - start < 5


def test_a_park_without_a_ring_still_ends_at_its_timeout(ring: Ring) -> None:
    c0 = ring.consumer(0, wait=Park(spins=0, yields=0, max_s=0.05))
    ring.producer()
    start = time.monotonic()
    with pytest.raises(Exception, match="timeout"):
        c0.read_batch(8, timeout=0.3)
    assert time.monotonic() - start >= 0.3


def test_fifos_are_made_with_the_ring_and_removed_with_it() -> None:
    r = Ring.create(None, slots=8, slot_size=32, consumers=2)
    assert r.name is not None
    paths = [bell_path(r.name, party) for party in ("p", "c0", "c1")]
    assert all(p is not None and os.path.exists(p) for p in paths)
    r.close()
    r.unlink()
    assert not any(p is not None and os.path.exists(p) for p in paths)


def test_a_local_ring_has_no_doorbell_and_parking_sleeps() -> None:
    r = Ring.local(slots=8, slot_size=32)
    c = r.consumer(0, wait=Park(spins=0, yields=0, max_s=0.01))
    p = r.producer()
    t, got = _in_thread(lambda: c.read_batch(8))
    time.sleep(0.05)
    p.write(b"z")
    t.join(5)
    assert got == [[b"z"]]


def test_doorbells_of_a_ring_whose_block_is_gone_are_swept() -> None:
    stale = bell_path("hftbook-test-gone-ring", "c0")
    assert stale is not None
    os.mkfifo(stale)
    r = Ring.create(None, slots=8, slot_size=32)
    try:
        assert not os.path.exists(stale)
        assert r.name is not None and os.path.exists(str(bell_path(r.name, "p")))
    finally:
        r.close()
        r.unlink()
