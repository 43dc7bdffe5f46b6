"""Soak: documents through the real service while a worker is killed (-9) every ~30 s.

    python bench/soak [--documents 200] [--workers 2] [--kill-every 30] [--timeout 7200]

Starts `docextract serve` and `--workers` separate `docextract worker --concurrency 1` on this
machine's PostgreSQL (a throw-away database) and Redis (keys of its own), uploads the
documents (sample scans repeated, each copy made unique by trailing bytes, which image
decoders ignore), then every `--kill-every` seconds kills one worker's whole process group
with SIGKILL and starts it again, round robin, until every document is extracted or failed
(or the timeout). Prints documents done, failed, lost (never finished, or missing),
duplicated fields ((document, code) pairs stored twice), wall time, the workers' memory over
time, and the longest stall: from a kill to the killed worker's document running again (leased
by a live worker) or finished. The service runs with its default settings: a killed worker's
document comes back when its lease (60 s) has run out and a sweep (every 30 s) sends it again.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
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
# ../shared/samples when it is beside the repository (docs/reliability.md's figures), else samples/.
SAMPLES, DEFAULT_SAMPLE = (
    (SHARED_SAMPLES, "sample_005.tif") if SHARED_SAMPLES.is_dir() else (ROOT / "samples", "gk2008-photo.jpg")
)
PG_ADMIN = os.environ.get("DOCEXTRACT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres")
REDIS_URL = os.environ.get("DOCEXTRACT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SERVICE = [sys.executable, "-m", "docextract.cli_service"]


def make_inputs(directory: Path, count: int, samples: list[str]) -> list[Path]:
    directory.mkdir(parents=True)
    made = []
    for n in range(count):
        sample = SAMPLES / samples[n % len(samples)]
        target = directory / f"soak{n:04d}{sample.suffix}"
        target.write_bytes(sample.read_bytes() + b"\0soak%d" % n)
        made.append(target)
    return made


class Service:
    def __init__(self, work: Path, workers: int) -> None:
        self.work = work
        self.name = f"docextract_soak_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(PG_ADMIN).set(database=self.name).render_as_string(hide_password=False)
        self.engine = create_engine(self.url, pool_pre_ping=True)
        self.prefix = f"docextract-soak-{uuid.uuid4().hex[:8]}:"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = os.environ | {
            "PYTHONPATH": str(ROOT),
            "DOCEXTRACT_DATABASE_URL": self.url,
            "DOCEXTRACT_BROKER_URL": REDIS_URL,
            "DOCEXTRACT_STORAGE_DIR": str(work / "storage"),
            "DOCEXTRACT_WORKER__BROKER_KEY_PREFIX": self.prefix,
        }
        self.api: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen | None] = [None] * workers
        self.started = 0

    def prepare(self) -> str:
        subprocess.run([*SERVICE, "db", "upgrade"], cwd=ROOT, env=self.env, check=True, capture_output=True)
        created = subprocess.run(
            [*SERVICE, "keys", "create", "--role", "admin"], cwd=ROOT, env=self.env, check=True, capture_output=True
        )
        self.api = self._spawn([*SERVICE, "serve", "--port", str(self.port)], "api")
        wait_for(lambda: healthy(self.base), "the API")
        return created.stdout.decode().strip()

    def start_worker(self, slot: int) -> None:
        self.workers[slot] = self._spawn(
            [*SERVICE, "worker", "--concurrency", "1", "--loglevel", "WARNING"], f"worker{slot}"
        )

    def kill_worker(self, slot: int) -> None:
        process = self.workers[slot]
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def leased_by(self, slot: int) -> set[int]:
        """Documents whose lease is held by a process of this worker (its pool process)."""
        process = self.workers[slot]
        if process is None:
            return set()
        pids = {str(pid) for pid in process_tree(process.pid)}
        with self.engine.connect() as connection:
            rows = connection.execute(text("SELECT id, lease_owner FROM documents WHERE lease_owner IS NOT NULL"))
            return {i for i, owner in rows if owner.rsplit(":", 2)[1] in pids}

    def running_again(self, interrupted: set[int], dead_owners: set[str]) -> set[int]:
        """Of `interrupted`, those leased by a live worker or finished."""
        if not interrupted:
            return set()
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, status, lease_owner FROM documents WHERE id = ANY(:ids)"), {"ids": list(interrupted)}
            ).all()
        return {
            i
            for i, status, owner in rows
            if status not in ("queued", "processing")
            or (owner is not None and owner.rsplit(":", 2)[1] not in dead_owners)
        }

    def worker_rss(self) -> list[float]:
        return [sum(rss_mb(p) for p in process_tree(w.pid)) if w else 0.0 for w in self.workers]

    def database_counts(self) -> tuple[dict[str, int], int, set[str]]:
        with self.engine.connect() as connection:
            by_status = dict(connection.execute(text("SELECT status, count(*) FROM documents GROUP BY status")).all())
            duplicated = connection.scalar(
                text(
                    "SELECT count(*) FROM (SELECT document_id, code FROM fields "
                    "GROUP BY document_id, code HAVING count(*) > 1) d"
                )
            )
            hashes = set(connection.scalars(text("SELECT sha256 FROM documents")))
        return by_status, duplicated, hashes

    def _spawn(self, command: list[str], name: str) -> subprocess.Popen:
        self.started += 1
        log = (self.work / f"{self.started:03d}-{name}.log").open("wb")
        return subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self) -> None:
        for process in [self.api, *self.workers]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [self.api, *self.workers]:
            if process is None:
                continue
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.engine.dispose()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{self.prefix}*"))
        if keys:
            client.delete(*keys)
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def soak(args: argparse.Namespace, work: Path) -> dict:
    from api.client import ApiClient, upload

    paths = make_inputs(work / "inputs", args.documents, args.samples)
    expected_hashes = {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    service = Service(work, args.workers)
    samples: list[tuple[float, int, int, int, list[float]]] = []
    kills: list[tuple[float, int]] = []
    waiting: dict[int, tuple[float, set[str]]] = {}  # interrupted document → (kill time, dead pids)
    stalls: list[float] = []  # seconds from a kill to its document running again
    try:
        key = service.prepare()
        for slot in range(args.workers):
            service.start_worker(slot)
        started = time.monotonic()
        summary_box: dict = {}
        with ApiClient(service.base, key) as client:
            uploader = threading.Thread(target=lambda: summary_box.update(s=upload(client, paths, concurrency=4)))
            uploader.start()
            # --kill-every 0: no kills, one worker's memory over a long run (issue 18).
            next_kill = started + args.kill_every if args.kill_every > 0 else float("inf")
            victim, finished = 0, False
            while time.monotonic() - started < args.timeout:
                time.sleep(2)
                now = time.monotonic() - started
                by_status, _, _ = service.database_counts()
                done = sum(by_status.get(s, 0) for s in ("extracted", "needs_review", "verified"))
                failed = by_status.get("failed", 0)
                samples.append((now, done, failed, args.documents - done - failed, service.worker_rss()))
                dead_pids = set().union(*[pids for _, pids in waiting.values()])
                for document_id in service.running_again(set(waiting), dead_pids):
                    stalls.append(now - waiting.pop(document_id)[0])
                if not uploader.is_alive() and done + failed >= args.documents:
                    finished = True
                    break
                if time.monotonic() >= next_kill:
                    interrupted = service.leased_by(victim)
                    dead = {str(pid) for pid in process_tree(service.workers[victim].pid)}
                    service.kill_worker(victim)
                    kills.append((now, victim))
                    waiting.update(dict.fromkeys(interrupted, (now, dead)))
                    service.start_worker(victim)
                    victim = (victim + 1) % args.workers
                    next_kill += args.kill_every
            uploader.join()
        wall = time.monotonic() - started
        by_status, duplicated, hashes = service.database_counts()
        failures = []
        with service.engine.connect() as connection:
            failures = connection.execute(
                text("SELECT filename, error FROM documents WHERE status = 'failed' ORDER BY id")
            ).all()
    finally:
        service.stop()
    done = sum(by_status.get(s, 0) for s in ("extracted", "needs_review", "verified"))
    unfinished = sum(by_status.get(s, 0) for s in ("queued", "processing"))
    return {
        "finished": finished,
        "wall": wall,
        "done": done,
        "failed": by_status.get("failed", 0),
        "lost": unfinished + len(expected_hashes - hashes),
        "duplicated": duplicated,
        "kills": kills,
        "stalls": stalls,
        "never_resumed": len(waiting),
        "samples": samples,
        "failures": [tuple(f) for f in failures],
        "upload_failures": len(summary_box["s"].failures) if "s" in summary_box else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="worker processes, killed in turn")
    parser.add_argument("--kill-every", type=float, default=30, help="seconds between kills; 0: none")
    parser.add_argument("--timeout", type=float, default=7200, help="give up after this many seconds")
    parser.add_argument("--samples", nargs="+", default=[DEFAULT_SAMPLE], help=f"scans of {SAMPLES} to repeat")
    args = parser.parse_args()
    # A stop request still runs the clean-up below: processes, Redis keys, the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)

    work = Path(tempfile.mkdtemp(prefix="docextract-soak-"))
    try:
        run = soak(args, work)
    finally:
        if not os.environ.get("DOCEXTRACT_SOAK_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"{args.documents} documents ({', '.join(args.samples)}), {args.workers} workers of 1 process, "
        + (f"kill -9 of one worker every {args.kill_every:.0f} s" if args.kill_every > 0 else "no kills")
        + ", default settings"
    )
    print(f"{'done':>6}{'failed':>8}{'lost':>6}{'dup. fields':>13}{'kills':>7}{'wall s':>9}  finished")
    print(
        f"{run['done']:>6}{run['failed']:>8}{run['lost']:>6}{run['duplicated']:>13}"
        f"{len(run['kills']):>7}{run['wall']:>9.0f}  {'yes' if run['finished'] else 'NO (timeout)'}"
    )
    stalls = sorted(run["stalls"])
    if stalls:
        print(
            f"documents interrupted by a kill: {len(stalls) + run['never_resumed']}, running again after "
            f"median {stalls[len(stalls) // 2]:.0f} s, longest {stalls[-1]:.0f} s; "
            f"never resumed: {run['never_resumed']}"
        )
    for filename, error in run["failures"]:
        print(f"failed: {filename}: {error}")
    print("\nworker memory over time (RSS of each worker's process tree, MB):")
    print(f"{'t s':>6}{'done':>6}{'failed':>8}{'pending':>9}  " + "  ".join(f"worker{i}" for i in range(args.workers)))
    last = -1e9
    for now, done, failed, pending, memory in run["samples"]:
        if now - last >= 30 or (now, done) == run["samples"][-1][:2]:
            print(f"{now:>6.0f}{done:>6}{failed:>8}{pending:>9}  " + "  ".join(f"{m:>7.0f}" for m in memory))
            last = now
    peaks = [max(s[4][i] for s in run["samples"]) for i in range(args.workers)] if run["samples"] else []
    print("peak worker RSS (MB): " + ", ".join(f"{p:.0f}" for p in peaks))
    if run["lost"] or run["duplicated"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
