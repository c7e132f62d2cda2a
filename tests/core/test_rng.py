import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy import stats
from scipy.special import ndtri

from bastion.core.rng import Streams, stream_bits, stream_uniform


def test_same_key_same_numbers_whatever_the_batch():
    s = Streams(42, 3)
    one_by_one = np.array([s.uniform("radar/0", e, 17) for e in range(50)]).ravel()
    batched = s.uniform("radar/0", np.arange(50), 17)
    assert np.array_equal(one_by_one, batched)
    # a fresh object for the same (seed, replication) gives the same numbers
    assert np.array_equal(Streams(42, 3).uniform("radar/0", np.arange(50), 17), batched)


def test_streams_differ_by_every_key_part():
    base = Streams(1, 0).uniform("radar/0", np.arange(1000), 5)
    others = [
        Streams(2, 0).uniform("radar/0", np.arange(1000), 5),
        Streams(1, 1).uniform("radar/0", np.arange(1000), 5),
        Streams(1, 0).uniform("radar/1", np.arange(1000), 5),
        Streams(1, 0).uniform("radar/0", np.arange(1000), 6),
        Streams(1, 0).uniform("radar/0", np.arange(1000), 5, slot=1),
    ]
    for o in others:
        assert not np.any(o == base)
        # independent-looking: correlation near zero
        assert abs(np.corrcoef(o, base)[0, 1]) < 0.12


def test_uniform_and_normal_distributions():
    s = Streams(7, 0)
    u = s.uniform("x", np.arange(20000), 0)
    assert np.all((u > 0) & (u < 1))
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # neighbouring counters of one entity are also uniform and uncorrelated
    v = s.uniform("x", 0, np.arange(20000))
    assert stats.kstest(v, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(v[:-1], v[1:])[0, 1]) < 0.03
    n = s.normal("y", np.arange(20000), 9)
    assert stats.kstest(n, "norm").pvalue > 1e-3


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    rep=st.integers(0, 10_000),
    entity=st.integers(0, 2**31),
    counter=st.integers(0, 2**40),
)
def test_uniform_in_open_unit_interval(seed, rep, entity, counter):
    u = Streams(seed, rep).uniform("s", entity, counter)
    assert 0.0 < float(u) < 1.0


def test_generator_is_reproducible():
    a = Streams(5, 2).generator("launch", 3).normal(size=10)
    b = Streams(5, 2).generator("launch", 3).normal(size=10)
    c = Streams(5, 2).generator("launch", 4).normal(size=10)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_rep_streams_match_each_replications_streams():
    from bastion.core.rng import RepStreams

    reps = np.array([3, 0, 17])
    block = RepStreams(11, reps)
    b = np.array([0, 2, 1, 2])
    ent = np.array([5, 5, 9, 1 << 40])
    got = block.normal("radar/0", b[:, None], ent[:, None], 42, np.array([1, 2, 3]))
    for i in range(b.size):
        alone = Streams(11, int(reps[b[i]])).normal("radar/0", ent[i], 42, np.array([1, 2, 3]))
        assert np.array_equal(got[i], alone)


def _reference_bits(key, entity, counter, slot):
    # The stream definition in plain NumPy uint64 arithmetic (SplitMix64 finaliser twice).
    def mix(z):
        z = z ^ (z >> np.uint64(30))
        z = z * np.uint64(0xBF58476D1CE4E5B9)
        z = z ^ (z >> np.uint64(27))
        z = z * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))

    e = np.atleast_1d(np.asarray(entity, np.int64)).astype(np.uint64)
    c = np.atleast_1d(np.asarray(counter, np.int64)).astype(np.uint64)
    s = np.atleast_1d(np.asarray(slot, np.int64)).astype(np.uint64)
    with np.errstate(over="ignore"):
        z = mix(e * np.uint64(0x9E3779B97F4A7C15) ^ np.atleast_1d(np.asarray(key, np.uint64)))
        z = z + (((c << np.uint64(8)) | s) + np.uint64(1)) * np.uint64(0xD1B54A32D192ED03)
        return mix(z)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32), rep=st.integers(0, 10_000),
       entity=st.lists(st.integers(-(2**40), 2**62), min_size=1, max_size=6),
       counter=st.integers(0, 2**40), slot=st.integers(0, 255))
def test_bits_match_the_reference_definition(seed, rep, entity, counter, slot):
    from bastion.core.rng import _key

    s = Streams(seed, rep)
    e = np.array(entity)[:, None]
    got = s.bits("radar/0", e, counter, np.array([slot, 0]))
    ref = _reference_bits(_key(seed, rep, "radar/0"), e, counter, np.array([slot, 0]))
    assert got.shape == (len(entity), 2)
    assert np.array_equal(got, ref)


def _reference_uniform(bits):
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


_SHAPES = st.sampled_from([(), (1,), (5,), (5, 1), (1, 3), (5, 3), (2, 5, 3), (1, 1, 3)])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), shapes=st.tuples(_SHAPES, _SHAPES, _SHAPES, _SHAPES),
       scalar=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
       data=st.data())
def test_block_draws_broadcast_like_numpy(seed, shapes, scalar, data):
    # every operand may be a Python int, a 0-d or an n-d array; the result must be the
    # reference bits of the broadcast keys, in NumPy's broadcast shape
    from bastion.core.rng import RepStreams, _key

    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return
    reps = np.array([4, 9, 2])
    block = RepStreams(seed, reps)
    rng = np.random.default_rng(seed)
    highs = (3, 2**40, 2**30, 256)
    ops = []
    for sh, sc, hi in zip(shapes, scalar, highs, strict=True):
        a = rng.integers(0, hi, sh)
        ops.append(int(a.ravel()[0]) if sc else a)
    b, e, c, s = ops
    keys = np.array([_key(seed, int(r), "radar/1") for r in reps], dtype=np.uint64)
    want = _reference_bits(keys[np.asarray(b)], e, c, s).reshape(
        np.broadcast_shapes(*(np.shape(x) for x in ops)))
    got = block.bits("radar/1", b, e, c, s)
    assert got.shape == want.shape
    assert np.array_equal(got, want)
    u = block.uniform("radar/1", b, e, c, s)
    assert np.array_equal(u, _reference_uniform(want))
    assert np.array_equal(block.normal("radar/1", b, e, c, s), ndtri(_reference_uniform(want)))
    if data.draw(st.booleans()):  # the one-replication streams read the same numbers
        bb = int(np.asarray(b).ravel()[0])
        alone = Streams(seed, int(reps[bb])).bits("radar/1", e, c, s)
        assert np.array_equal(alone, _reference_bits(keys[bb], e, c, s).reshape(
            np.broadcast_shapes(*(np.shape(x) for x in (e, c, s)))))


def test_draw_result_types_and_index_errors():
    from bastion.core.rng import RepStreams

    s = Streams(3, 1)
    assert isinstance(s.uniform("x", 5, 2), np.float64)
    assert isinstance(s.normal("x", 5, 2), np.float64)
    assert s.bits("x", 5, 2).shape == () and s.bits("x", 5, 2).dtype == np.uint64
    assert s.uniform("x", np.arange(3), 2).dtype == np.float64
    assert s.uniform("x", np.arange(0), 2).shape == (0,)
    block = RepStreams(3, [1, 7])
    # a negative block position counts from the end, as the NumPy gather did
    assert np.array_equal(block.uniform("x", -1, 5, 2), Streams(3, 7).uniform("x", 5, 2))
    with pytest.raises(IndexError):
        block.uniform("x", np.array([0, 2]), 5, 2)
    with pytest.raises(OverflowError):
        s.uniform("x", 2**64, 0)
    with pytest.raises(ValueError):
        block.uniform("x", np.zeros(3, np.int64), np.arange(4), 0)


@njit
def _one_draw(key, entity, counter, slot):
    return stream_bits(key, entity, counter, slot), stream_uniform(key, entity, counter, slot)


@settings(max_examples=50, deadline=None)
@given(key=st.integers(0, 2**64 - 1), entity=st.integers(-(2**40), 2**62),
       counter=st.integers(0, 2**40), slot=st.integers(0, 255))
def test_compiled_single_draw_matches_the_reference(key, entity, counter, slot):
    # the per-number functions other kernels (the sensors) draw with
    bits, u = _one_draw(np.uint64(key), entity, counter, slot)
    want = _reference_bits(np.uint64(key), entity, counter, slot)[0]
    assert np.uint64(bits) == want
    assert u == _reference_uniform(np.atleast_1d(want))[0]
