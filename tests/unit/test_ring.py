"""The ring buffer in one process (`hftbook.runtime.ring`): shape checks, the batch and claim
APIs, property tests of no loss / duplication / reordering over many wraparounds with random
batch sizes, dependencies and partial commits (checked against a model after every step),
threads on a local ring, end of stream, timeouts, liveness, corruption, attach by name."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.shared_memory import SharedMemory

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hftbook.runtime import ring_consumer
from hftbook.runtime.ring import (
    BusySpin,
    DeadConsumer,
    DeadProducer,
    MessageTooLarge,
    Ring,
    RingCorrupted,
    RingError,
    RingTimeout,
    Sleep,
    WouldBlock,
    Yield,
    wait_strategy,
)
from hftbook.runtime.ring_layout import CFG_VERSION, PID, SLOT_HEADER, consumer_word
from hftbook.runtime.ring_wait import alive, identity


def message(seq: int, cap: int) -> bytes:
    """The message of sequence `seq`: its content depends on seq, its length varies 0..cap."""
    body = hashlib.blake2b(seq.to_bytes(8, "little")).digest()
    return (body * (cap // len(body) + 1))[:(seq * 37) % (cap + 1)]


MakeRing = Callable[..., Ring]


@pytest.fixture
def shm_ring() -> Iterator[MakeRing]:
    """Rings in shared memory, closed and unlinked after the test."""
    made: list[Ring] = []

    def make(**kw: object) -> Ring:
        r = Ring.create(**kw)  # type: ignore[arg-type]
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()
        r.unlink()


# -- shape ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [
    {"slots": 3}, {"slots": 1}, {"slot_size": 20}, {"slot_size": 16}, {"consumers": 0}, {"consumers": 65},
    {"consumers": 2, "depends": {0: [0]}}, {"consumers": 2, "depends": {0: [2]}},
    {"consumers": 2, "depends": {2: [0]}}, {"consumers": 3, "depends": {0: [1], 1: [2], 2: [0]}},
])
def test_bad_shapes_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Ring.local(**kw)  # type: ignore[arg-type]


def test_dependencies_as_lists_and_mapping_agree() -> None:
    a = Ring.local(consumers=3, depends={2: [0, 1, 1]})
    b = Ring.local(consumers=3, depends=[[], [], [1, 0]])
    assert a.geometry.depends == b.geometry.depends == ((), (), (0, 1))


def test_message_too_large_writes_nothing() -> None:
    r = Ring.local(slots=8, slot_size=32, consumers=1)
    p, c = r.producer(), r.consumer(0)
    assert r.max_message == 32 - SLOT_HEADER
    with pytest.raises(MessageTooLarge):
        p.write_batch([b"ok", b"x" * 17])
    assert p.published == 0 and c.read_batch(block=False) == []
    p.write(b"y" * 16)
    claim = p.claim(1)
    with pytest.raises(MessageTooLarge):
        claim.put(0, b"z" * 17)
    with pytest.raises(MessageTooLarge):
        claim.set_size(0, 17)
    assert c.read_batch() == [b"y" * 16]


# -- the basic protocol ------------------------------------------------------------------------


def test_batch_write_read_commit_and_wraparound() -> None:
    r = Ring.local(slots=4, slot_size=64, consumers=1)
    p, c = r.producer(), r.consumer(0)
    sent: list[bytes] = []
    got: list[bytes] = []
    for lap in range(50):
        batch = [message(len(sent) + i, r.max_message) for i in range(1 + lap % 4)]
        assert p.try_write_batch(batch) == len(batch)
        sent += batch
        got += c.read_batch(3)
        c.commit()
        got += c.read_batch(block=False)
        c.commit()
    assert got == sent and c.cursor == len(sent) == p.published


def test_uncommitted_batch_blocks_the_next_read_and_partial_commit_rereads() -> None:
    r = Ring.local(slots=8, consumers=1)
    p, c = r.producer(), r.consumer(0)
    p.write_batch([b"a", b"b", b"c"])
    assert c.read_batch() == [b"a", b"b", b"c"]
    with pytest.raises(RingError):
        c.read_batch()
    assert c.commit(1) == 1
    assert c.read_batch() == [b"b", b"c"]
    with pytest.raises(ValueError):
        c.commit(3)
    c.commit()
    assert c.lag == 0


def test_producer_never_passes_the_slowest_consumer() -> None:
    r = Ring.local(slots=4, consumers=2)
    p, fast, slow = r.producer(), r.consumer(0), r.consumer(1)
    assert p.try_write_batch([b"%d" % i for i in range(10)]) == 4
    fast.read_batch()
    fast.commit()
    assert p.try_write_batch([b"x"]) == 0  # the slow consumer still holds all four slots
    slow.read_batch(1)
    slow.commit()
    assert p.try_write_batch([b"x", b"y"]) == 1
    with pytest.raises(WouldBlock):
        p.write(b"z")  # a single thread would wait for itself


def test_dependent_reads_only_what_its_dependencies_committed() -> None:
    r = Ring.local(slots=8, consumers=3, depends={2: [0, 1]})
    p, j, a, pub = r.producer(), r.consumer(0), r.consumer(1), r.consumer(2)
    p.write_batch([b"1", b"2", b"3", b"4"])
    assert pub.read_batch(block=False) == []
    assert j.read_batch() == [b"1", b"2", b"3", b"4"]
    assert a.read_batch(2) == [b"1", b"2"]
    assert pub.read_batch(block=False) == []  # read but not committed yet
    j.commit()
    a.commit()
    assert pub.read_batch() == [b"1", b"2"]
    pub.commit()


def test_claim_put_buffer_and_partial_publish() -> None:
    r = Ring.local(slots=4, slot_size=32, consumers=1, checksum=True)
    p, c = r.producer(), r.consumer(0)
    claim = p.claim(3)
    claim.put(0, b"zero")
    view = claim.buffer(1)
    view[:3] = b"one"
    claim.set_size(1, 3)
    del view
    with pytest.raises(RingError):
        p.write(b"no")  # a claim is open
    with pytest.raises(RingError):
        p.publish(claim)  # slot 2 is not filled
    with pytest.raises(IndexError):
        claim.put(3, b"")
    assert p.publish(claim, 2) == 2  # slot 2 is given back
    assert c.read_batch() == [b"zero", b"one"]
    c.commit()
    with pytest.raises(ValueError):
        p.claim(5)
    claim = p.claim(4)
    for i in range(4):
        claim.put(i, bytes([i]))
    p.publish(claim)
    assert c.read_batch() == [b"\x00", b"\x01", b"\x02", b"\x03"]
    with pytest.raises(RingError):
        p.publish(claim)  # already published


def test_read_views_are_zero_copy_and_block_close(shm_ring: MakeRing) -> None:
    r = shm_ring(slots=8, consumers=1)
    p, c = r.producer(), r.consumer(0)
    p.write_batch([b"abc", b"", b"de"])
    views = c.read_views()
    assert [bytes(v) for v in views] == [b"abc", b"", b"de"]
    c.commit()
    del p, c
    with pytest.raises(RingError, match="still alive"):
        r.close()
    for v in views:
        v.release()
    r.close()


def test_end_of_stream_reaches_dependents() -> None:
    r = Ring.local(slots=4, consumers=2, depends={1: [0]})
    p, a, b = r.producer(), r.consumer(0), r.consumer(1)
    p.write_batch([b"x", b"y"])
    p.close()
    p.close()  # idempotent
    assert not a.finished
    assert a.read_batch() == [b"x", b"y"]
    a.commit()
    assert a.read_batch() == [] and a.finished
    assert b.read_batch() == [b"x", b"y"]
    b.commit()
    assert b.read_batch() == [] and b.finished
    st_ = r.status()
    assert st_.end == 2 and st_.producer.state == "closed" and [x.cursor for x in st_.consumers] == [2, 2]


# -- properties ----------------------------------------------------------------------------------

# Every step is (kind, a, b, c, d) of integers:
# (0, k, ...): write k messages; (1, n, count, zero_copy, _): claim n, publish the first count;
# (2, consumer, most, views, commit): read up to `most`, commit the first `commit` of them;
# (3, most, ...): every consumer in turn reads up to `most` and commits it all (drives laps).
OPS = st.lists(st.one_of(
    st.tuples(st.just(0), st.integers(1, 40), st.just(0), st.just(0), st.just(0)),
    st.tuples(st.just(1), st.integers(1, 16), st.integers(0, 16), st.integers(0, 1), st.just(0)),
    st.tuples(st.just(2), st.integers(0, 3), st.integers(1, 40), st.integers(0, 1),
              st.integers(0, 41) | st.just(41)),
    st.tuples(st.just(3), st.integers(1, 40), st.just(0), st.just(0), st.just(0)),
), min_size=10, max_size=150)
Shape = tuple[int, int, int, dict[int, list[int]], bool]


@st.composite
def shapes(draw: st.DrawFn) -> Shape:
    consumers = draw(st.integers(1, 4))
    depends = {i: draw(st.lists(st.integers(0, i - 1), max_size=i, unique=True)) for i in range(1, consumers)}
    return (draw(st.sampled_from([2, 4, 8, 16])), draw(st.sampled_from([24, 32, 64, 136])), consumers,
            depends, draw(st.booleans()))


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes(), ops=OPS, rounds=st.integers(1, 12))
def test_no_loss_duplication_or_reordering_against_a_model(
        shape: Shape, ops: list[tuple[int, int, int, int, int]], rounds: int) -> None:
    """The steps, repeated `rounds` times (more laps), against a model of every cursor."""
    slots, slot_size, n_cons, depends, checksum = shape
    r = Ring.local(slots=slots, slot_size=slot_size, consumers=n_cons, depends=depends, checksum=checksum)
    cap = r.max_message
    p = r.producer()
    cons = [r.consumer(i) for i in range(n_cons)]
    deps = r.geometry.depends
    sent: list[bytes] = []
    cursor = [0] * n_cons  # the model's cursors

    def bound(i: int) -> int:
        return min(cursor[d] for d in deps[i]) if deps[i] else len(sent)

    for kind, a, b, c, d in ops * rounds:
        room = slots - (len(sent) - min(cursor))
        if kind == 3:
            for i, con in enumerate(cons):
                got = con.read_batch(a, block=False)
                assert got == sent[cursor[i]:cursor[i] + min(a, bound(i) - cursor[i])]
                cursor[i] = con.commit()
        elif kind == 0:
            batch = [message(len(sent) + i, cap) for i in range(a)]
            assert p.try_write_batch(batch) == min(a, room)
            sent += batch[:min(a, room)]
        elif kind == 1:
            n = min(a, slots)
            if room < n:
                with pytest.raises(WouldBlock):
                    p.claim(n)
                continue
            claim = p.claim(n)
            for i in range(n):
                m = message(len(sent) + i, cap)
                if c:
                    v = claim.buffer(i)
                    v[:len(m)] = m
                    v.release()
                    claim.set_size(i, len(m))
                else:
                    claim.put(i, m)
            count = min(b, n)
            p.publish(claim, count)
            sent += [message(len(sent) + i, cap) for i in range(count)]
        else:
            i = a % n_cons
            want = min(b, bound(i) - cursor[i])
            if c:
                vs = cons[i].read_views(b, block=False)
                got = [bytes(v) for v in vs]
                for v in vs:
                    v.release()
            else:
                got = cons[i].read_batch(b, block=False)
            assert got == sent[cursor[i]:cursor[i] + want]
            n_commit = min(d, len(got))
            assert cons[i].commit(n_commit) == cursor[i] + n_commit
            cursor[i] += n_commit
        # Invariants after every step.
        assert p.published == len(sent)
        assert len(sent) - min(cursor) <= slots
        for i in range(n_cons):
            assert cons[i].cursor == cursor[i] <= bound(i)
    # Drain in dependency order (dependencies have lower indices here).
    for i, con in enumerate(cons):
        rest = con.read_batch(len(sent) + 1, block=False)
        assert rest == sent[cursor[i]:]
        con.commit()
    p.close()
    assert all(con.finished for con in cons)


@pytest.mark.parametrize("checksum", [False, True])
def test_many_wraparounds_with_dependencies(checksum: bool) -> None:
    r = Ring.local(slots=4, slot_size=48, consumers=3, depends={1: [0], 2: [0, 1]}, checksum=checksum)
    p = r.producer()
    cons = [r.consumer(i) for i in range(3)]
    got: list[list[bytes]] = [[], [], []]
    n, seq = 20_000, 0
    while seq < n:
        k = p.try_write_batch([message(s, r.max_message) for s in range(seq, min(n, seq + 3))])
        seq += k
        for i, c in enumerate(cons):
            got[i] += c.read_batch(1 + seq % 5, block=False)
            c.commit()
    for i, c in enumerate(cons):
        got[i] += c.read_batch(10, block=False)
        c.commit()
    want = [message(s, r.max_message) for s in range(n)]
    assert got == [want, want, want]
    assert n // r.slots >= 5000  # laps


def test_threads_on_a_local_ring_block_and_lose_nothing() -> None:
    r = Ring.local(slots=16, slot_size=64, consumers=3, depends={2: [0, 1]})
    p = r.producer(wait=Sleep(spins=10, yields=10))
    n = 20_000
    got: list[list[bytes]] = [[], [], []]
    errors: list[BaseException] = []

    def consume(i: int) -> None:
        try:
            c = r.consumer(i, wait=Sleep(spins=10, yields=10))
            while batch := c.read_batch(7, timeout=30):
                got[i] += batch
                c.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    seq = 0
    while seq < n:
        k = 1 + seq % 13
        p.write_batch([message(s, r.max_message) for s in range(seq, min(n, seq + k))], timeout=30)
        seq += k
    p.close()
    for t in threads:
        t.join(30)
    assert not errors
    want = [message(s, r.max_message) for s in range(n)]
    assert got == [want, want, want]


# -- waiting, liveness, misuse --------------------------------------------------------------------


def test_timeouts_raise(shm_ring: MakeRing) -> None:
    r = shm_ring(slots=2, consumers=1)
    p, c = r.producer(liveness_interval=0.01), r.consumer(0, liveness_interval=0.01)
    t0 = time.monotonic()
    with pytest.raises(RingTimeout):
        c.read_batch(timeout=0.05)
    p.write_batch([b"1", b"2"])
    with pytest.raises(RingTimeout):
        p.write_batch([b"3", b"4"], timeout=0.05)
    with pytest.raises(RingTimeout):
        p.claim(1, timeout=0.05)
    with pytest.raises(RingTimeout):
        p.drain(timeout=0.05)
    assert time.monotonic() - t0 < 2
    assert c.read_batch() == [b"1", b"2"]
    c.commit()
    p.drain(timeout=1)


def test_a_closed_dependency_is_reported_to_its_dependent(shm_ring: MakeRing) -> None:
    r = shm_ring(slots=4, consumers=2, depends={1: [0]})
    p = r.producer()
    j, pub = r.consumer(0), r.consumer(1, liveness_interval=0.01)
    p.write_batch([b"a", b"b"])
    j.read_batch(1)
    j.commit()
    j.close()
    assert pub.read_batch() == [b"a"]
    pub.commit()
    with pytest.raises(DeadConsumer, match="closed") as info:
        pub.read_batch(timeout=5)
    assert info.value.index == 0
    assert p.try_write_batch([b"c"] * 4) == 3  # the closed consumer gates no more


def test_stall_timeouts(shm_ring: MakeRing) -> None:
    r = shm_ring(slots=2, consumers=2)
    p = r.producer(liveness_interval=0.01, stall_timeout=0.1)
    c0 = r.consumer(0, liveness_interval=0.01, stall_timeout=0.1)
    p.write_batch([b"1", b"2"])
    assert c0.read_batch() == [b"1", b"2"]
    c0.commit()
    with pytest.raises(DeadConsumer, match="never attached"):
        p.write(b"3", timeout=5)
    with pytest.raises(RingTimeout):
        p.wait_for_consumers(timeout=0.05)
    p.evict(1)  # never attached: nobody will read for it
    p.write(b"3")
    with pytest.raises(DeadConsumer, match="no progress"):
        p.write_batch([b"4", b"5"], timeout=5)  # c0 holds slot of "3" and does nothing
    assert c0.read_batch() == [b"3", b"4"]
    c0.commit()
    with pytest.raises(DeadProducer, match="published nothing"):
        c0.read_batch(timeout=5)
    with pytest.raises(RingError):
        p.evict(0)  # alive


def test_registration_rules(shm_ring: MakeRing) -> None:
    r = shm_ring(slots=4, consumers=2)
    p = r.producer()
    with pytest.raises(RingError, match="already attached"):
        r.producer()
    c = r.consumer(0)
    with pytest.raises(RingError, match="already attached"):
        r.consumer(0)
    with pytest.raises(ValueError):
        r.consumer(2)
    c.close()
    with pytest.raises(RingError, match="closed"):
        r.consumer(0)
    p.close()
    with pytest.raises(RingError, match="closed"):
        r.producer()


def test_a_dead_previous_holder_is_taken_over(shm_ring: MakeRing) -> None:
    r = shm_ring(slots=4, consumers=1)
    p = r.producer()
    p.write_batch([b"a", b"b", b"c"])
    c = r.consumer(0)
    c.read_batch(1)
    c.commit()
    # Pretend the consumer's process died: a pid that cannot exist.
    r._q[consumer_word(0, PID)] = 2**22 + 12345
    c2 = r.consumer(0)
    assert c2.cursor == 1 and c2.read_batch() == [b"b", b"c"]


def test_corruption_is_detected(shm_ring: MakeRing, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ring_consumer, "SETTLE_S", 0.05)
    r = shm_ring(slots=4, slot_size=32, consumers=1, checksum=True)
    p, c = r.producer(), r.consumer(0)
    p.write_batch([b"hello", b"world"])
    base = r.geometry.data_offset
    r._buf[base + SLOT_HEADER + 1] ^= 0xFF  # flip a payload bit of sequence 0
    with pytest.raises(RingCorrupted, match="never showed"):
        c.read_batch()
    r._buf[base + SLOT_HEADER + 1] ^= 0xFF
    r._q[(base + 32) // 8] = 6  # sequence 1's slot claims to hold sequence 5
    with pytest.raises(RingCorrupted, match="overwritten"):
        c.read_batch()
    with pytest.raises(RingCorrupted, match="overwritten"):
        c.read_views()


def test_attach_by_name_shares_the_ring(shm_ring: MakeRing) -> None:
    r = shm_ring(slots=8, consumers=2, depends={1: [0]}, checksum=True)
    assert r.name is not None
    other = Ring.attach(r.name)
    assert other.geometry == r.geometry and not other.owner
    p = r.producer()
    c = other.consumer(0)
    p.write_batch([b"via", b"name"])
    assert c.read_batch() == [b"via", b"name"]
    c.commit()
    assert r.status().consumers[0].cursor == 2
    other.close()
    other.close()


def test_attach_refuses_what_is_not_a_ring() -> None:
    shm = SharedMemory(create=True, size=4096)
    try:
        with pytest.raises(RingError, match="magic"):
            Ring.attach(shm.name)
    finally:
        shm.close()
        shm.unlink()
    with Ring.create(slots=4, consumers=1) as r:
        assert r.name is not None
        r._q[CFG_VERSION] = 99
        with pytest.raises(RingError, match="version"):
            Ring.attach(r.name)


def test_an_unrelated_process_attaching_does_not_unlink(shm_ring: MakeRing) -> None:
    r = shm_ring(slots=4, consumers=1)
    assert r.name is not None
    code = ("from hftbook.runtime.ring import Ring; import sys; r = Ring.attach(sys.argv[1]); "
            "p = r.producer(); p.write(b'from afar'); del p; r.close()")
    out = subprocess.run([sys.executable, "-c", code, r.name], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "leaked" not in out.stderr
    again = Ring.attach(r.name)  # the name still exists
    c = again.consumer(0)
    assert c.read_batch() == [b"from afar"]
    c.commit()
    again.close()


def test_wait_strategies() -> None:
    assert isinstance(wait_strategy(None), Sleep)
    assert isinstance(wait_strategy("spin"), BusySpin) and isinstance(wait_strategy("yield"), Yield)
    y = Yield(spins=1)
    assert wait_strategy(y) is y
    with pytest.raises(ValueError):
        wait_strategy("nap")
    s = Sleep(spins=1, yields=1, min_s=1e-6, max_s=2e-6)
    t0 = time.monotonic()
    for attempt in range(1, 40):
        s.idle(attempt)
        y.idle(attempt)
        BusySpin().idle(attempt)
    assert time.monotonic() - t0 < 5


def test_process_liveness() -> None:
    me = os.getpid()
    assert alive(me, identity(me)) and alive(me)
    assert not alive(me, identity(me) + 1)  # a pid reused by another process
    assert not alive(0) and not alive(-1)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    while child.poll() is None:
        time.sleep(0.01)
    assert not alive(child.pid)  # reaped: gone
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while alive(zombie.pid) and time.monotonic() < deadline:
        time.sleep(0.01)  # not reaped: a zombie answers os.kill(pid, 0) but is not alive
    assert not alive(zombie.pid)
    os.kill(zombie.pid, 0)  # still there
    if os.path.exists(f"/proc/{zombie.pid}/stat"):
        with open(f"/proc/{zombie.pid}/stat") as f:
            assert f.read().rsplit(")", 1)[1].split()[0] == "Z"
    zombie.wait()
