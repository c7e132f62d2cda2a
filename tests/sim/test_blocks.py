"""How Monte Carlo replications are split into lock-step blocks for the workers."""

from hypothesis import given
from hypothesis import strategies as st

from bastion.sim.engine import BLOCK
from bastion.sim.montecarlo import blocks


@given(st.integers(0, 3000), st.integers(0, 5000), st.integers(1, 16))
def test_blocks_partition_in_order_and_keep_every_worker_busy(n, first, workers):
    out = blocks(range(first, first + n), workers)
    assert [r for b in out for r in b] == list(range(first, first + n))
    assert all(0 < len(b) <= BLOCK for b in out)
    sizes = [len(b) for b in out]
    if sizes:
        assert max(sizes) - min(sizes) <= 1  # equal work per block
        # as many blocks as the workers can run in equal rounds (or one per replication)
        assert len(out) % workers == 0 or len(out) == n


def test_two_hundred_on_two_workers_is_four_equal_blocks():
    assert [len(b) for b in blocks(range(200), 2)] == [50, 50, 50, 50]
