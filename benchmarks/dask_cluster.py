"""A study on a dask.distributed cluster writes the same bytes as one process.

    python benchmarks/dask_cluster.py [--study drift_diffusion] [--eps 1.0,0.5] [--full]
    python benchmarks/dask_cluster.py --scheduler tcp://host:8786   # a running cluster

Runs ``noisy-noether study NAME --quick`` twice into two fresh folders: once in one
process (``--n-jobs 1``), once with ``--backend dask --n-jobs 2`` on a scheduler, by
default a local cluster of 2 worker processes (one thread each) that this script
starts; with ``--scheduler`` (address or scheduler file) on that cluster instead. Then
compares every table (``.parquet``, ``.csv``, ``.json``) of the two folders by SHA-256,
prints one line per file and the wall time of each run, and exits with status 1 if any
file differs or is missing from one run. Figures (PNG) and report.md are left out: the
PNG encoder and the report are not part of the tables.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLES = (".parquet", ".csv", ".json")


def digests(folder: Path) -> dict:
    """{path relative to folder: sha256} of every table under folder."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.suffix in TABLES
    }


def run_study(args, out: Path, extra: list) -> float:
    """Wall seconds of ``noisy-noether study`` into ``out`` (raises if it fails)."""
    cmd = [sys.executable, "-m", "validate", "study", args.study, "--out", str(out), "--fresh"]
    cmd += [] if args.full else ["--quick"]
    cmd += ["--eps", args.eps] if args.eps else []
    start = time.perf_counter()
    subprocess.run(cmd + extra, check=True, stdout=subprocess.DEVNULL, env=_env())
    return time.perf_counter() - start


def _env() -> dict:
    # this tree first, for the CLI's process and a local cluster's workers
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return os.environ | {"PYTHONPATH": path}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", default="drift_diffusion", help="a prebuilt study")
    ap.add_argument("--eps", default="1.0,0.5", help="noise levels ('' for the study's)")
    ap.add_argument("--full", action="store_true", help="the full study, not --quick")
    ap.add_argument("--scheduler", default=None, help="a running cluster (default: local)")
    ap.add_argument("--out", default=None, help="folder for both runs (default: temporary)")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="dask_cluster_"))
    one = out / "one_process"
    print(f"study {args.study}, eps {args.eps or 'default'}, into {out}")
    t_one = run_study(args, one, ["--n-jobs", "1"])
    if args.scheduler is None:
        from distributed import LocalCluster

        with LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            env={"PYTHONPATH": _env()["PYTHONPATH"]},
        ) as cluster:
            where = cluster.scheduler_address
            t_cluster = run_study(
                args, out / "cluster", ["--n-jobs", "2", "--backend", "dask", "--scheduler", where]
            )
        where = f"local cluster, 2 worker processes ({where})"
    else:
        where = args.scheduler
        t_cluster = run_study(
            args, out / "cluster", ["--n-jobs", "2", "--backend", "dask", "--scheduler", where]
        )
    a, b = digests(one / args.study), digests(out / "cluster" / args.study)
    bad = 0
    for name in sorted(a.keys() | b.keys()):
        same = a.get(name) == b.get(name)
        bad += not same
        print(f"{'same' if same else 'DIFFERENT':9} {(a.get(name) or '-')[:16]} {name}")
    print(f"one process: {t_one:.1f} s; {where}: {t_cluster:.1f} s (wall)")
    print(f"{len(a.keys() | b.keys()) - bad} of {len(a.keys() | b.keys())} tables byte-identical")
    return 1 if bad or not a else 0


if __name__ == "__main__":
    sys.exit(main())
