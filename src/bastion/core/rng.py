"""Random streams keyed by (replication, subsystem, entity).

Every random number in bastion is a pure function of
``(scenario seed, replication, subsystem, entity, counter)``. Two consequences matter:

* Common random numbers: drone 7's radar noise at scan 120 in replication 3 is the same
  whatever the doctrine, the jammer placement or the number of other drones, so
  comparisons on the same seeds are paired.
* Worker independence: a replication's numbers do not depend on which process runs it
  or in which order.

Stateful per-entity ``numpy.random.Generator`` objects would give the same guarantees but
would force a Python loop over entities at every step. Here the draw for many
(entity, counter) pairs is one vectorised call: a SplitMix64 finaliser applied twice to
a key derived with ``numpy.random.SeedSequence`` from (seed, replication, subsystem) and
mixed with the entity id and the counter. SplitMix64 over a counter passes BigCrush;
one mix gives each entity its stream key, a second decorrelates neighbouring counters.

For set-up draws whose count is not known in advance (sampling a raid's launch points,
fail-safe choices), :meth:`Streams.generator` hands out an ordinary ``Generator`` seeded
from the same key material.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Any

import numba as nb
import numpy as np
from numba import types
from numba.extending import overload
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

__all__ = ["RepStreams", "Streams", "stream_bits", "stream_uniform", "subsystem_id"]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_M3 = np.uint64(0xD1B54A32D192ED03)  # odd constant spacing counters within a stream
_TWO_M53 = 2.0**-53
# Slots let one (entity, counter) pair yield several independent numbers (e.g. x, y, z
# noise of one report) without the caller packing them into the counter by hand.
_SLOT_BITS = 8


def subsystem_id(subsystem: str) -> int:
    """Stable 32-bit id of a subsystem name (CRC-32: identical across runs and platforms)."""
    return zlib.crc32(subsystem.encode("utf-8"))


@lru_cache(maxsize=4096)
def _key(seed: int, replication: int, subsystem: str) -> np.uint64:
    ss = np.random.SeedSequence(seed, spawn_key=(replication, subsystem_id(subsystem)))
    return np.uint64(ss.generate_state(1, dtype=np.uint64)[0])


@lru_cache(maxsize=4096)
def _key_table(seed: int, replication: int, subsystem: str) -> NDArray[np.uint64]:
    # the one-replication key as a table of one, read at block position 0 by the kernels
    return np.array([_key(seed, replication, subsystem)], dtype=np.uint64)


def _ndtri(u: Any) -> Any:
    # inverse normal CDF in place on the fresh array of uniforms (the same ufunc, no copy)
    return ndtri(u, out=u) if type(u) is np.ndarray else ndtri(u)


class Streams:
    """The random streams of one replication of one scenario."""

    __slots__ = ("replication", "seed")

    def __init__(self, seed: int, replication: int) -> None:
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be non-negative integers")
        self.seed = int(seed)
        self.replication = int(replication)

    def bits(
        self, subsystem: str, entity: ArrayLike, counter: ArrayLike, slot: ArrayLike = 0
    ) -> NDArray[np.uint64]:
        """64 random bits per broadcast (entity, counter, slot)."""
        return _draw(_key_table(self.seed, self.replication, subsystem), 0, entity, counter,
                     slot, False)

    def uniform(
        self, subsystem: str, entity: ArrayLike, counter: ArrayLike, slot: ArrayLike = 0
    ) -> NDArray[np.float64]:
        """Uniform numbers in the open interval (0, 1)."""
        return _draw(_key_table(self.seed, self.replication, subsystem), 0, entity, counter,
                     slot, True)

    def normal(
        self, subsystem: str, entity: ArrayLike, counter: ArrayLike, slot: ArrayLike = 0
    ) -> NDArray[np.float64]:
        """Standard normal numbers (inverse CDF of :meth:`uniform`)."""
        return _ndtri(self.uniform(subsystem, entity, counter, slot))

    def generator(self, subsystem: str, entity: int = 0) -> np.random.Generator:
        """A stateful generator for set-up draws of (subsystem, entity) in this replication."""
        ss = np.random.SeedSequence(
            self.seed,
            spawn_key=(self.replication, subsystem_id(subsystem), int(entity) & 0xFFFFFFFF),
        )
        return np.random.Generator(np.random.PCG64(ss))


_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def _shape2(x: tuple[int, ...], y: tuple[int, ...]) -> tuple[int, ...]:
    # NumPy's broadcast of two shapes, written out for the 1-D/2-D cases the streams see
    # (np.broadcast_shapes costs more than the draw itself for a few hundred numbers);
    # anything else, including an incompatible pair, is left to NumPy and its error.
    if len(x) <= 2 and len(y) <= 2:
        if len(x) < len(y):
            x, y = y, x
        if len(y) < len(x):
            y = (1,) * (len(x) - len(y)) + y
        out = []
        for a, b in zip(x, y, strict=True):
            if a == b or b == 1:
                out.append(a)
            elif a == 1:
                out.append(b)
            else:
                break
        else:
            return tuple(out)
    return np.broadcast_shapes(x, y)


def _draw(keys: NDArray[np.uint64], b: Any, entity: ArrayLike, counter: ArrayLike,
          slot: ArrayLike, uniform: bool) -> Any:
    """Bits (or uniforms) for the streams keyed ``keys[b]``, broadcast like NumPy over
    (b, entity, counter, slot); a result of shape () is returned as a NumPy scalar for
    uniforms (as the ufunc arithmetic on a 0-d array used to) and as a 0-d array for bits."""
    # Python-side cost is most of a draw of a few numbers: one pass over the operands. A
    # Python int in int64 range (or a 0-d array's value) goes to the kernel as it is;
    # anything else converts exactly as before (np.asarray to int64).
    ops = [b, entity, counter, slot]
    shape: tuple[int, ...] = ()
    arrays = False
    for n in range(4):
        x = ops[n]
        if type(x) is int and _I64_MIN <= x <= _I64_MAX:
            continue
        a = np.asarray(x, dtype=np.int64)
        if a.ndim == 0:
            ops[n] = int(a)
            continue
        ops[n] = a
        if not arrays:
            shape, arrays = a.shape, True
        elif a.shape != shape:
            shape = _shape2(shape, a.shape)
    if not arrays:
        if uniform:
            return np.float64(_uniform_one(keys, *ops))
        return np.array(_bits_one(keys, *ops), dtype=np.uint64)
    out = np.empty(shape, dtype=np.float64 if uniform else np.uint64)
    if out.size:
        # the kernels see ints and 2-D arrays only (few compiled variants): a 1-D operand is
        # one row (trailing axes align), more than two axes are materialised as rows of the
        # last axis (rare)
        if len(shape) > 2:
            for n in range(4):
                if type(ops[n]) is not int:
                    ops[n] = np.broadcast_to(ops[n], shape).reshape(-1, shape[-1])
            flat = out.reshape(-1, shape[-1])
        else:
            for n in range(4):
                if type(ops[n]) is not int and ops[n].ndim == 1:
                    ops[n] = ops[n].reshape(1, -1)
            flat = out if len(shape) == 2 else out.reshape(1, -1)
        if uniform:
            _uniform_kernel(keys, *ops, flat)
        else:
            _bits_kernel(keys, *ops, flat)
    return out


def _at(a, i, j):  # pragma: no cover - replaced by the overload below in compiled code
    raise NotImplementedError


@overload(_at)
def _at_impl(a, i, j):
    # Element (i, j) of operand a broadcast against the 2-D output, NumPy style (a length-1
    # axis repeated): compiled per kind of operand instead of a broadcast copy per call.
    # Shapes were checked compatible by the caller, so an axis is either 1 long or as long
    # as the output's.
    if isinstance(a, types.Integer):
        def scalar(a, i, j):
            return a
        return scalar
    if isinstance(a, types.Array) and a.ndim == 2:
        def rows(a, i, j):
            return a[min(i, a.shape[0] - 1), min(j, a.shape[1] - 1)]
        return rows
    return None


@nb.njit(cache=True, inline="always")
def _mix1(z):  # pragma: no cover - compiled
    # SplitMix64 finaliser on one uint64 (wraps modulo 2**64)
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


@nb.njit(cache=True, inline="always")
def stream_bits(key, entity, counter, slot):  # pragma: no cover - compiled
    """(uint64 key, int64 entity, int64 counter, int64 slot) -> uint64: the stream definition
    for one number, callable from other compiled kernels (sensors draw inside their own
    loops; their on-disk cache does not see an edit here, see sensors/kernels.py).
    tests/test_rng.py checks it against a NumPy transcription."""
    z = _mix1(np.uint64(entity) * _GAMMA ^ key)  # the entity's stream key
    ctr = (np.uint64(counter) << np.uint64(_SLOT_BITS)) | np.uint64(slot)
    return _mix1(z + (ctr + np.uint64(1)) * _M3)


@nb.njit(cache=True, inline="always")
def stream_uniform(key, entity, counter, slot):  # pragma: no cover - compiled
    """One uniform in (0, 1) from :func:`stream_bits`: the top 53 bits, centred in their
    cell (exact in float64, the same number the NumPy expression gave)."""
    return (float(stream_bits(key, entity, counter, slot) >> np.uint64(11)) + 0.5) * _TWO_M53


def _key_index(keys, b):  # pragma: no cover - compiled helper
    raise NotImplementedError


@overload(_key_index)
def _key_index_impl(keys, b):
    # keys[b] with NumPy's rules for an integer index (negative counts from the end, out of
    # range is an IndexError) — the gather used to be a NumPy fancy index.
    def impl(keys, b):
        n = keys.shape[0]
        if b < -n or b >= n:
            raise IndexError("block position out of range")
        return keys[b + n if b < 0 else b]
    return impl


@nb.njit(cache=True)
def _bits_kernel(keys, b, e, c, s, out):  # pragma: no cover - compiled
    # One compiled pass instead of a dozen NumPy calls: random draws are many and small
    # (a scan's detections, a handful of engagements), so per-call cost is what counts.
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = stream_bits(_key_index(keys, _at(b, i, j)), _at(e, i, j),
                                    _at(c, i, j), _at(s, i, j))


@nb.njit(cache=True)
def _bits_one(keys, b, e, c, s):  # pragma: no cover - compiled
    return stream_bits(_key_index(keys, b), e, c, s)


@nb.njit(cache=True)
def _uniform_one(keys, b, e, c, s):  # pragma: no cover - compiled
    return stream_uniform(_key_index(keys, b), e, c, s)


@nb.njit(cache=True)
def _uniform_kernel(keys, b, e, c, s, out):  # pragma: no cover - compiled
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = stream_uniform(_key_index(keys, _at(b, i, j)), _at(e, i, j),
                                       _at(c, i, j), _at(s, i, j))


class RepStreams:
    """The streams of a block of replications at once: the same numbers as :class:`Streams`,
    with the block position ``b`` (an index into ``replications``) an array broadcast
    against entity and counter, so lock-step replications draw in one call."""

    __slots__ = ("_keys", "replications", "seed")

    def __init__(self, seed: int, replications: ArrayLike) -> None:
        reps = np.asarray(replications, dtype=np.int64).ravel()
        if seed < 0 or (reps < 0).any():
            raise ValueError("seed and replications must be non-negative integers")
        self.seed = int(seed)
        self.replications = reps
        self._keys: dict[str, NDArray[np.uint64]] = {}

    def keys(self, subsystem: str) -> NDArray[np.uint64]:
        """(B,) stream key of ``subsystem`` for each block position, for compiled callers that
        draw with :func:`stream_uniform` inside their own loops (do not modify)."""
        k = self._keys.get(subsystem)
        if k is None:
            k = np.array([_key(self.seed, int(r), subsystem) for r in self.replications],
                         dtype=np.uint64)
            self._keys[subsystem] = k
        return k

    def bits(self, subsystem: str, b: ArrayLike, entity: ArrayLike, counter: ArrayLike,
             slot: ArrayLike = 0) -> NDArray[np.uint64]:
        return _draw(self.keys(subsystem), b, entity, counter, slot, False)

    def uniform(self, subsystem: str, b: ArrayLike, entity: ArrayLike, counter: ArrayLike,
                slot: ArrayLike = 0) -> NDArray[np.float64]:
        return _draw(self.keys(subsystem), b, entity, counter, slot, True)

    def normal(self, subsystem: str, b: ArrayLike, entity: ArrayLike, counter: ArrayLike,
               slot: ArrayLike = 0) -> NDArray[np.float64]:
        return _ndtri(self.uniform(subsystem, b, entity, counter, slot))
