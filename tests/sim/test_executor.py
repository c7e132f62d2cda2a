"""Executors: in process, local processes, a Dask cluster on loopback — same bits each."""

from __future__ import annotations

import pytest
from tests.conftest import small_scenario, tables_equal

from bastion.sim.executor import ClusterError, Executor
from bastion.sim.montecarlo import monte_carlo


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


def test_dask_cluster_bit_identical_to_local(dask_client):
    sc = small_scenario()
    local = monte_carlo(sc, 24, workers=1)
    with Executor(client=dask_client) as ex:
        assert ex.kind == "dask" and ex.workers == 2
        remote = monte_carlo(sc, 24, executor=ex)
    assert tables_equal(local.outcomes, remote.outcomes)
    assert tables_equal(local.events, remote.events)
    # each worker warmed its kernels once, when it joined (the plugin), not per task
    assert "bastion-warmup" in dask_client.run(
        lambda dask_worker: list(dask_worker.plugins)).popitem()[1]


def test_local_processes_bit_identical():
    sc = small_scenario()
    a = monte_carlo(sc, 6, workers=1)
    b = monte_carlo(sc, 6, workers=2)
    assert tables_equal(a.outcomes, b.outcomes) and tables_equal(a.events, b.events)
    assert not tables_equal(a.outcomes, monte_carlo(sc, 6, workers=1, seed=99).outcomes)


def test_unreachable_scheduler_is_a_clear_error():
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ClusterError, match=f"127.0.0.1:{port}: cannot connect"):
        Executor(scheduler=f"127.0.0.1:{port}")


def test_cli_run_on_the_cluster(dask_client, tmp_path, capsys):
    import pyarrow.parquet as pq
    import yaml
    from tests.conftest import small_dict

    from bastion import cli

    p = tmp_path / "small.yaml"
    p.write_text(yaml.safe_dump(small_dict()))
    with pytest.raises(SystemExit) as ei:
        cli.main(["run", str(p), "--runs", "4", "--out", str(tmp_path / "o"),
                  "--scheduler", dask_client.scheduler.address])
    assert ei.value.code == 0, capsys.readouterr().err
    got = pq.read_table(tmp_path / "o" / "outcomes.parquet")
    want = monte_carlo(small_scenario(), 4, workers=1).outcomes
    assert tables_equal(got.replace_schema_metadata(None), want)
