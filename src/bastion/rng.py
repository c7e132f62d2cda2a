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
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

__all__ = ["RepStreams", "Streams", "subsystem_id"]

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
        return _bits(_key(self.seed, self.replication, subsystem), entity, counter, slot)

    def uniform(
        self, subsystem: str, entity: ArrayLike, counter: ArrayLike, slot: ArrayLike = 0
    ) -> NDArray[np.float64]:
        """Uniform numbers in the open interval (0, 1)."""
        b = self.bits(subsystem, entity, counter, slot)
        return ((b >> np.uint64(11)).astype(np.float64) + 0.5) * _TWO_M53

    def normal(
        self, subsystem: str, entity: ArrayLike, counter: ArrayLike, slot: ArrayLike = 0
    ) -> NDArray[np.float64]:
        """Standard normal numbers (inverse CDF of :meth:`uniform`)."""
        return ndtri(self.uniform(subsystem, entity, counter, slot))

    def generator(self, subsystem: str, entity: int = 0) -> np.random.Generator:
        """A stateful generator for set-up draws of (subsystem, entity) in this replication."""
        ss = np.random.SeedSequence(
            self.seed,
            spawn_key=(self.replication, subsystem_id(subsystem), int(entity) & 0xFFFFFFFF),
        )
        return np.random.Generator(np.random.PCG64(ss))


def _bits(key: ArrayLike, entity: ArrayLike, counter: ArrayLike, slot: ArrayLike
          ) -> NDArray[np.uint64]:
    k = np.asarray(key, dtype=np.uint64)
    e = np.asarray(entity, dtype=np.int64)
    c = np.asarray(counter, dtype=np.int64)
    s = np.asarray(slot, dtype=np.int64)
    shape = np.broadcast_shapes(k.shape, e.shape, c.shape, s.shape)
    out = np.empty(shape, dtype=np.uint64)
    if out.size:
        _bits_kernel(*_flat(k, shape), *_flat(e, shape), *_flat(c, shape), *_flat(s, shape),
                     out.reshape(-1))
    return out


def _flat(a: NDArray[Any], shape: tuple[int, ...]) -> tuple[NDArray[Any], int]:
    # (flat values, step): a single value is read with step 0 instead of being broadcast, the
    # common case (one key, one counter); only a partial broadcast is materialised.
    if a.size == 1:
        return a.reshape(1), 0
    if a.shape == shape:
        return a.reshape(-1), 1
    return np.broadcast_to(a, shape).ravel(), 1


@nb.njit(cache=True)
def _mix1(z):  # pragma: no cover - compiled
    # SplitMix64 finaliser on one uint64 (wraps modulo 2**64)
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


@nb.njit(cache=True)
def _bits_kernel(k, dk, e, de, c, dc, s, ds, out):  # pragma: no cover - compiled
    # One compiled pass instead of a dozen NumPy calls: random draws are many and small
    # (a scan's detections, a handful of engagements), so per-call cost is what counts.
    # (tests/test_rng.py checks the bits against a NumPy transcription of the definition)
    for i in range(out.shape[0]):
        z = _mix1(np.uint64(e[i * de]) * _GAMMA ^ k[i * dk])  # the entity's stream key
        ctr = (np.uint64(c[i * dc]) << np.uint64(_SLOT_BITS)) | np.uint64(s[i * ds])
        out[i] = _mix1(z + (ctr + np.uint64(1)) * _M3)


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

    def _key(self, subsystem: str) -> NDArray[np.uint64]:
        k = self._keys.get(subsystem)
        if k is None:
            k = np.array([_key(self.seed, int(r), subsystem) for r in self.replications],
                         dtype=np.uint64)
            self._keys[subsystem] = k
        return k

    def bits(self, subsystem: str, b: ArrayLike, entity: ArrayLike, counter: ArrayLike,
             slot: ArrayLike = 0) -> NDArray[np.uint64]:
        return _bits(self._key(subsystem)[np.asarray(b, dtype=np.int64)], entity, counter, slot)

    def uniform(self, subsystem: str, b: ArrayLike, entity: ArrayLike, counter: ArrayLike,
                slot: ArrayLike = 0) -> NDArray[np.float64]:
        bits = self.bits(subsystem, b, entity, counter, slot)
        return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * _TWO_M53

    def normal(self, subsystem: str, b: ArrayLike, entity: ArrayLike, counter: ArrayLike,
               slot: ArrayLike = 0) -> NDArray[np.float64]:
        return ndtri(self.uniform(subsystem, b, entity, counter, slot))
