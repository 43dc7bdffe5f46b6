"""Service throughput next to the in-process CLI: `python bench/service [--repeat N]`.

Runs on this machine's PostgreSQL and Redis (a throw-away database, isolated Redis keys):
1. `docextract extract -j 1` and `-j 2` (one inference thread per process) on the files;
2. the service: `docextract serve` + `docextract worker --concurrency N` for N = 1 and 2
   (one inference thread per process), warm, then `upload` → every document done.
Prints documents and pages per minute for each, the service's overhead per page over the
CLI, the speed-up of 2 workers over 1, and the worker processes' memory after the run.
The samples are repeated (`--repeat`, a byte appended so each copy is a new document) so
that two workers are not left idle by the last large document.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.processes import free_port, healthy, process_tree, rss_mb, wait_for  # noqa: E402

SHARED_SAMPLES = ROOT.parent / "shared" / "samples"
PG_ADMIN = os.environ.get("DOCEXTRACT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres")
REDIS_URL = os.environ.get("DOCEXTRACT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def sample_scans() -> list[Path]:
    """../shared/samples when it is beside the repository (docs/reliability.md's figures), else samples/."""
    if SHARED_SAMPLES.is_dir():
        return sorted(SHARED_SAMPLES.glob("sample_*"))
    return sorted(p for p in (ROOT / "samples").iterdir() if p.suffix in {".pdf", ".jpg"})


def make_inputs(directory: Path, repeat: int) -> list[Path]:
    directory.mkdir(parents=True)
    made = []
    for copy in range(repeat):
        for sample in sample_scans():
            target = directory / f"r{copy}_{sample.name}"
            target.write_bytes(sample.read_bytes() + b"\0" * copy)  # trailing bytes: same scan
            made.append(target)
    return made


def page_count(paths: list[Path]) -> int:
    from docextract.settings import LimitSettings
    from worker.pipeline.load import open_document

    total = 0
    for path in paths:
        with open_document(path, LimitSettings()) as document:
            total += document.page_count
    return total


def base_env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(ROOT), "DOCEXTRACT_OCR__THREADS": "1"}


def run_cli(paths: list[Path], jobs: int, out: Path) -> dict:
    command = [
        sys.executable,
        "-c",
        "from docextract.cli import main; main()",
        "extract",
        *map(str, paths),
        "--out",
        str(out),
        "-j",
        str(jobs),
    ]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=base_env(), check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    results = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("*.json"))]
    return {"wall": wall, "pipeline_seconds": sum(r["run"]["seconds"] for r in results)}


def run_service(paths: list[Path], workers: int, work: Path) -> dict:
    name = f"docextract_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    prefix = f"docextract-bench-{uuid.uuid4().hex[:8]}:"
    port = free_port()
    env = base_env() | {
        "DOCEXTRACT_DATABASE_URL": url,
        "DOCEXTRACT_BROKER_URL": REDIS_URL,
        "DOCEXTRACT_STORAGE_DIR": str(work / "storage"),
        "DOCEXTRACT_WORKER__BROKER_KEY_PREFIX": prefix,
    }
    service = [sys.executable, "-m", "docextract.cli_service"]
    processes: list[subprocess.Popen] = []
    try:
        subprocess.run([*service, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        key = subprocess.run(
            [*service, "keys", "create", "--role", "admin"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        log = (work / f"worker{workers}.log").open("wb")
        worker = subprocess.Popen(
            [*service, "worker", "--concurrency", str(workers), "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        api = subprocess.Popen(
            [*service, "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes += [worker, api]
        wait_for(
            lambda: (work / f"worker{workers}.log").read_text().count("extractor ready") >= workers,
            "worker models loaded",
        )
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: healthy(base), "API up")

        from api.client import ApiClient, upload

        with ApiClient(base, key) as client:
            started = time.perf_counter()
            summary = upload(client, paths, concurrency=4)
            uploaded = time.perf_counter() - started
            while not (batch := client.batch(summary.batch_id))["finished"]:
                time.sleep(0.2)
            wall = time.perf_counter() - started
            listing = client.list_documents(batch_id=summary.batch_id, limit=200)
        memory = {pid: rss_mb(pid) for pid in process_tree(worker.pid)}
        return {
            "wall": wall,
            "upload_seconds": uploaded,
            "pipeline_seconds": sum(d["result"]["run"]["seconds"] for d in listing["documents"] if d["result"]),
            "done": batch["done"],
            "failed": batch["failed"],
            "worker_rss_mb": memory,
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{prefix}*"))
        if keys:
            redis.Redis.from_url(REDIS_URL).delete(*keys)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="copies of the sample set")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "service.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="docextract-bench-"))
    try:
        paths = make_inputs(work / "inputs", args.repeat)
        pages = page_count(paths)
        runs = {
            "cli -j1": run_cli(paths, 1, work / "cli1"),
            "cli -j2": run_cli(paths, 2, work / "cli2"),
            "service 1 worker": run_service(paths, 1, work),
            "service 2 workers": run_service(paths, 2, work),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    docs = len(paths)
    print(f"{docs} documents, {pages} pages, {os.cpu_count()} cores, 1 inference thread/process")
    print(f"{'run':<20}{'seconds':>9}{'docs/min':>10}{'pages/min':>11}{'s/page':>8}")
    for name, run in runs.items():
        wall = run["wall"]
        print(f"{name:<20}{wall:>9.1f}{docs / wall * 60:>10.1f}{pages / wall * 60:>11.1f}{wall / pages:>8.2f}")
    cli1, svc1, svc2 = runs["cli -j1"], runs["service 1 worker"], runs["service 2 workers"]
    print(
        f"pipeline time in the CLI (Σ run.seconds): {cli1['pipeline_seconds']:.1f} s, "
        f"{cli1['pipeline_seconds'] / pages:.2f} s/page"
    )
    print(
        f"service, 1 worker, per page: {svc1['wall'] / cli1['wall'] - 1:+.1%} vs the CLI's "
        f"wall time, {svc1['wall'] / cli1['pipeline_seconds'] - 1:+.1%} vs its pipeline time"
    )
    for name, workers in (("service 1 worker", 1), ("service 2 workers", 2)):
        run = runs[name]
        own = run["pipeline_seconds"] / workers
        print(
            f"{name}: pipeline time in the workers {run['pipeline_seconds']:.1f} s; what the "
            f"service adds around it: {run['wall'] / own - 1:+.1%} of wall time (target < 15 %)"
        )
    speedup = svc1["wall"] / svc2["wall"]
    print(
        f"2 workers vs 1: {speedup:.2f}× (target ≥ 1.7×); CLI -j2 vs -j1: {cli1['wall'] / runs['cli -j2']['wall']:.2f}×"
    )
    for name in ("service 1 worker", "service 2 workers"):
        memory = runs[name]["worker_rss_mb"]
        listed = ", ".join(f"{mb:.0f}" for mb in memory.values())
        print(
            f"worker RSS after the run, {name}: {sum(memory.values()):.0f} MB (parent, then pool processes: {listed})"
        )
    failed = sum(runs[n]["failed"] for n in ("service 1 worker", "service 2 workers"))
    if failed:
        print(f"warning: {failed} documents failed in the service runs")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"documents": docs, "pages": pages, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
