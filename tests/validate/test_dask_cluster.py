"""Past one machine: a study computed by the worker processes of a dask.distributed cluster
(joblib's dask backend) writes the same bytes as one process (README, Scaling out)."""

import hashlib
import json
import os
from pathlib import Path

import joblib
import pytest

from validate import Study, StudyConfig
from validate._cli import UsageError, _backend, dask_scheduler

ROOT = Path(__file__).resolve().parents[2]


def _config(root) -> StudyConfig:
    # the monostable T = 1 sweep of the catalogue, shrunk: two levels, 400 paths
    return StudyConfig(
        name="mono",
        system="monostable",
        eps_grid=(0.2, 0.1),
        sampler_options=dict(
            x0="start",
            T=1.0,
            target_center=[2.0, 2.0],
            target_radius=1.0,
            target_exponent=1.0,
            dt=0.01,
            guide="instanton",
        ),
        instanton=dict(x_start="start", x_end="end", T=1.0),
        n_paths=400,
        n_boot=20,
        seed=2,
        root=str(root),
    )


def _digests(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.suffix in (".parquet", ".json")
    }


def _cluster(distributed):
    # worker processes (not threads): each level is pickled to a process of its own, as
    # on a real cluster; the workers import this tree first
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, env={"PYTHONPATH": path}
    )


def test_study_tables_on_a_multiprocess_cluster_are_byte_identical(tmp_path):
    distributed = pytest.importorskip("distributed")
    Study(_config(tmp_path / "one")).run(figures=False)
    with (
        _cluster(distributed) as cluster,
        distributed.Client(cluster) as client,
        joblib.parallel_config(backend="dask"),
    ):
        Study(_config(tmp_path / "cluster")).run(n_jobs=2, figures=False)
        # both levels ran in the workers, one each (a level takes a second or more)
        assert len(client.run(os.getpid)) == 2
    one, cluster_run = _digests(tmp_path / "one" / "mono"), _digests(tmp_path / "cluster" / "mono")
    assert {"summary.parquet", "paths.parquet", "charges.parquet", "scaling.parquet"} <= set(one)
    assert cluster_run == one


def test_cli_finds_the_scheduler_by_address_file_or_environment(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with pytest.raises(UsageError, match="needs --scheduler"):
        dask_scheduler("dask", None)
    with pytest.raises(UsageError, match="--scheduler is for --backend dask"):
        dask_scheduler("loky", "tcp://host:8786")
    assert dask_scheduler("loky", None) is None
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cl:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cl.scheduler_address)
        assert dask_scheduler("dask", None) == cl.scheduler_address
        # the file a scheduler writes with --scheduler-file: its identity as JSON
        sched_file = tmp_path / "scheduler.json"
        sched_file.write_text(json.dumps(cl.scheduler.identity()))
        for where in (cl.scheduler_address, str(sched_file)):
            with _backend("dask", where):
                ran_on = joblib.Parallel(n_jobs=2)(
                    joblib.delayed(_worker_address)() for _ in range(2)
                )
            assert len(ran_on) == 2 and set(ran_on) <= set(cl.scheduler.workers)


def _worker_address() -> str:
    from distributed import get_worker

    return get_worker().address
