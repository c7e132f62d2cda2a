"""Motion models: the IMM's bank of linear models and its mode chain.

State is ``[x, y, z, vx, vy, vz]`` in ENU metres and m/s. The filter applies the models in
compiled kernels (``kernels.py``, from ``MotionModels.kernel_args``); ``transition`` and
``mode_transition`` give the same matrices in NumPy form for intervals ``dt_s`` (k,): ``F`` and
``Q`` (k, M, 6, 6) and the mode-transition matrices (k, M, M), the reference the kernels are
tested against.

* CV: nearly constant velocity, white-noise acceleration of spectral density q per axis.
* CT(ω): coordinated turn in the horizontal plane at a *fixed* turn rate ω (positive =
  anticlockwise seen from above, i.e. a left turn), CV vertically. With ω fixed the model is
  linear, so an IMM of CV + CT(+ω) + CT(−ω) (+ a quiet CV "cruise" mode) is a bank of ordinary
  Kalman filters. Its process noise reuses the white-acceleration form, the usual approximation
  for fixed-rate turns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .config import TrackerConfig

__all__ = ["MotionModels"]

F64 = NDArray[np.float64]


# Flat indices (row * 6 + col) of the entries of F that depend on dt and the turn rate, in the
# order they are stacked in ``_transition``.
_F_VARIABLE = np.array([0 * 6 + 3, 0 * 6 + 4, 1 * 6 + 3, 1 * 6 + 4,
                        3 * 6 + 3, 3 * 6 + 4, 4 * 6 + 3, 4 * 6 + 4, 2 * 6 + 5])  # fmt: skip


# Flat indices of Q's non-zero entries per axis a: (a, a), (a, a+3), (a+3, a), (a+3, a+3).
_AX = np.arange(3)
_Q_PP, _Q_PV, _Q_VP, _Q_VV = (_AX * 6 + _AX, _AX * 6 + _AX + 3, (_AX + 3) * 6 + _AX,
                              (_AX + 3) * 6 + _AX + 3)


@dataclass(frozen=True)
class MotionModels:
    """A bank of M linear motion models: turn rates (0 = CV) and noise densities."""

    turn_rate_rad_s: F64  # (M,)
    q_horizontal_m2_s3: F64  # (M,)
    q_vertical_m2_s3: float
    exit_rate_hz: F64  # (M,) rate of leaving each mode

    def __post_init__(self) -> None:
        w = self.turn_rate_rad_s
        cv = np.abs(w) < 1e-9
        object.__setattr__(self, "_w", w)
        object.__setattr__(self, "_cv", cv)
        object.__setattr__(self, "_inv_w", np.where(cv, 0.0, 1.0 / np.where(cv, 1.0, w)))
        object.__setattr__(self, "_eye36", np.eye(6).ravel())
        m = w.shape[0]
        # Generator of the mode chain: leave mode i at exit_rate[i], to the others equally.
        G = np.zeros((m, m))
        if m > 1:
            G = np.repeat((self.exit_rate_hz / (m - 1))[:, None], m, axis=1)
            np.fill_diagonal(G, -self.exit_rate_hz)
        lam, V = np.linalg.eig(G)
        object.__setattr__(self, "_eig", (lam, V, np.linalg.inv(V)))
        # G is diag(exit rates) times a symmetric matrix, so it is similar to a symmetric
        # matrix and its eigen-decomposition is real: the compiled kernels take the real parts.
        Vinv = np.linalg.inv(V)
        if max(np.abs(lam.imag).max(), np.abs(V.imag).max()) > 1e-12:
            raise ValueError("mode generator has a complex eigen-decomposition")
        object.__setattr__(self, "_kernel_args", (
            np.ascontiguousarray(w, dtype=np.float64),
            np.ascontiguousarray(self.q_horizontal_m2_s3, dtype=np.float64),
            float(self.q_vertical_m2_s3),
            np.ascontiguousarray(lam.real), np.ascontiguousarray(V.real),
            np.ascontiguousarray(Vinv.real)))
        object.__setattr__(self, "_q_axes", np.stack(
            [self.q_horizontal_m2_s3, self.q_horizontal_m2_s3,
             np.full(m, self.q_vertical_m2_s3)], axis=1))  # (M, 3) density per axis

    @classmethod
    def from_config(cls, cfg: TrackerConfig) -> MotionModels:
        """The bank of ``cfg``: CV, turn left, turn right and, if ``q_cruise_m2_s3 > 0``, the
        quiet cruise CV mode (``imm=False``: CV alone)."""
        if not cfg.imm:
            return cls(np.zeros(1), np.array([cfg.q_cv_m2_s3]), cfg.q_vertical_m2_s3,
                       np.array([cfg.cv_exit_rate_hz]))
        w = cfg.turn_rate_rad_s
        rates = [0.0, w, -w]
        q = [cfg.q_cv_m2_s3, cfg.q_turn_m2_s3, cfg.q_turn_m2_s3]
        exits = [cfg.cv_exit_rate_hz, cfg.turn_exit_rate_hz, cfg.turn_exit_rate_hz]
        if cfg.q_cruise_m2_s3 > 0:
            rates.append(0.0)
            q.append(cfg.q_cruise_m2_s3)
            exits.append(cfg.cruise_exit_rate_hz)
        return cls(np.array(rates), np.array(q), cfg.q_vertical_m2_s3, np.array(exits))

    @property
    def kernel_args(self) -> tuple[F64, F64, float, F64, F64, F64]:
        """Model parameters as the compiled filter kernels take them: turn rates, horizontal
        noise densities, vertical density and the real eigen-decomposition of the mode
        generator (eigenvalues, V, V⁻¹)."""
        return self._kernel_args  # type: ignore[attr-defined, no-any-return]

    @property
    def n_models(self) -> int:
        return int(self.turn_rate_rad_s.shape[0])

    def transition(self, dt_s: F64) -> tuple[F64, F64]:
        """``F`` and ``Q`` of shape (k, M, 6, 6) for intervals ``dt_s`` (k,): the NumPy form of
        what the compiled kernels apply, for reference and tests."""
        return self._transition(np.asarray(dt_s, dtype=np.float64))

    def _transition(self, dt_s: F64) -> tuple[F64, F64]:
        k, m = dt_s.shape[0], self.n_models
        dt = dt_s[:, None]  # (k, 1) broadcast against models
        wt = self._w[None, :] * dt
        s, c = np.sin(wt), np.cos(wt)
        # sin(wt)/w and (1-cos(wt))/w, with their small-w limits dt and 0 (exact for CV).
        s_w = np.where(self._cv[None, :], dt, s * self._inv_w[None, :])
        c_w = np.where(self._cv[None, :], 0.0, (1.0 - c) * self._inv_w[None, :])
        F = np.empty((k, m, 36))
        F[:] = self._eye36
        F[:, :, _F_VARIABLE] = np.stack(
            [s_w, -c_w, c_w, s_w, c, -s, s, c, np.broadcast_to(dt, (k, m))], axis=-1
        )
        # White-noise acceleration, per axis q [[dt³/3, dt²/2], [dt²/2, dt]]: twelve non-zero
        # entries, written directly (three dense (k, M, 6, 6) products cost several times more).
        a = np.abs(dt_s)[:, None, None]  # (k, 1, 1)
        qa = self._q_axes[None]  # (1, M, 3)
        Q = np.zeros((k, m, 36))
        Q[:, :, _Q_PP] = (a**3 / 3.0) * qa
        cross = (a * a / 2.0) * qa
        Q[:, :, _Q_PV] = cross
        Q[:, :, _Q_VP] = cross
        Q[:, :, _Q_VV] = a * qa
        return F.reshape(k, m, 6, 6), Q.reshape(k, m, 6, 6)

    def mode_transition(self, dt_s: F64) -> F64:
        """Markov mode-transition matrices (k, M, M) for intervals ``dt_s`` (k,).

        A continuous-time chain that leaves mode i at ``exit_rate_hz[i]`` and jumps to any other
        mode with equal probability, so the IMM is independent of the scan period.
        """
        if self.n_models == 1:
            return np.ones((np.shape(dt_s)[0], 1, 1))
        return self._mode_matrix(np.asarray(dt_s, dtype=np.float64))

    def _mode_matrix(self, dt_s: F64) -> F64:
        # T(dt) = expm(G dt) through the eigen-decomposition of the constant generator G.
        lam, V, Vinv = self._eig
        e = np.exp(lam[None, :] * np.maximum(dt_s, 0.0)[:, None])  # (k, M)
        T = ((V[None, :, :] * e[:, None, :]) @ Vinv[None, :, :]).real  # V diag(e) V⁻¹
        T = np.maximum(T, 0.0)
        return T / T.sum(axis=2, keepdims=True)
