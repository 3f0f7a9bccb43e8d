"""Load benchmark: contact search over HTTP under concurrent clients, served by gunicorn.

    python benchmarks/load_search.py [--contacts 100000] [--workers 2 4] [--clients 8] [--seconds 20]
                                     [--runs 3] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Builds a scratch database with the real migrations (a ``kw_bench_*`` database on the server of
``--database-url``, dropped afterwards; ``--database-url sqlite`` for a SQLite file) with two
tenants of ``--contacts`` contacts (benchmarks/bench_contacts_list.py's generator) and an API
token of the first tenant's admin, then for each ``--workers`` count starts
``gunicorn -w N host_stub:create_app()`` on 127.0.0.1 (sync workers, each with its own
connection pool) and drives ``GET /api/crm/contacts?q=…`` with ``Authorization: Bearer`` from
``--clients`` threads, each on one keep-alive connection sending its next request as soon as
the last one answered (a closed loop: the load is bounded by the number of clients). Searches
alternate between a common one (``company N``, about 2% of the tenant, a full page of 50) and
one matching a single contact, with N and the contact drawn at random so caches do not flatter.

Beside it, in the same run, the raw reference: the same clients calling the same statements the
API sends (page, total, deal counts) straight through the driver, one connection per client.
Each run lasts ``--seconds`` after a 3 s warm-up; prints requests/s and p50/p95/p99 latency per
run, then the min and median over the runs. The load generator shares the machine's cores with
the server: on a 2-core machine it takes a fair part of them, which is why the raw reference
runs with the same generator. Asserts nothing except that every answer is a 200."""
from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from benchmarks import scratch_dir  # noqa: E402
from benchmarks.bench_contacts_list import DEFAULT_PG, WIDTH, grow, make_tenant  # noqa: E402
from benchmarks.import_jobs import scratch_url  # noqa: E402

WARM_UP = 3.0


def random_query(rng: random.Random, size: int) -> str:
    if rng.random() < 0.5:
        return f"company {rng.randrange(10, 50)}"  # Company 10..49 and their 100..499: 11 of 500
    return f"last{rng.randrange(size):0{WIDTH}d}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def drive(request, clients: int, seconds: float) -> tuple[float, list[float]]:
    """Run ``request(rng)`` from ``clients`` threads for ``seconds`` after the warm-up:
    (requests per second, latencies in ms)."""
    start_at = time.perf_counter() + WARM_UP
    stop_at = start_at + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[BaseException] = []

    def client(index: int) -> None:
        rng = random.Random(index)
        try:
            while True:
                began = time.perf_counter()
                if began >= stop_at:
                    return
                request(rng, index)
                if began >= start_at:
                    latencies[index].append((time.perf_counter() - began) * 1000)
        except BaseException as exc:  # noqa: BLE001 - reported after the run
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    every = [ms for per_client in latencies for ms in per_client]
    return len(every) / seconds, every


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


class Server:
    """gunicorn serving host_stub on 127.0.0.1 with ``workers`` sync workers."""

    def __init__(self, url: str, workers: int, folder: Path):
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "load-bench-secret", "PYTHONPATH": str(ROOT),
               "RATELIMIT_STORAGE_URI": "memory://"}
        self.log = open(folder / f"gunicorn-{workers}.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--worker-class", "sync", "--keep-alive", "30", "--timeout", "120", "host_stub:create_app()"],
            env=env, cwd=str(ROOT), stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, token: str) -> None:
        """Until a search answers 200 (a first request on a loaded machine may take seconds)."""
        deadline, last = time.time() + 300, None
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("GET", "/api/crm/contacts?limit=1", headers={"Authorization": f"Bearer {token}"})
                last = conn.getresponse().status
                if last == 200:
                    return
            except OSError as exc:
                last = exc
            time.sleep(0.5)
        raise RuntimeError(f"gunicorn did not answer 200 (last: {last}); see {self.log.name}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def http_requests(port: int, token: str, size: int, clients: int):
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(clients)]
    headers = {"Authorization": f"Bearer {token}"}

    def request(rng: random.Random, index: int) -> None:
        conn = connections[index]
        conn.request("GET", f"/api/crm/contacts?q={quote(random_query(rng, size))}", headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
    return request, connections


def raw_requests(engine, tenant_id: int, size: int, clients: int):
    """The statements the API sends for a search (page, total, deal counts), by hand: see
    ``bench_contacts_list.Raw.search`` (PostgreSQL's LIKE on the GIN index, SQLite's FTS table),
    each client on a pooled connection of its own."""
    from benchmarks.bench_contacts_list import Raw

    raw = Raw(engine, tenant_id)

    def request(rng: random.Random, index: int) -> None:
        raw.search(random_query(rng, size))
    return request, []


def report(label: str, results: list[tuple[float, list[float]]]) -> None:
    for run, (rate, latencies) in enumerate(results, 1):
        p50, p95, p99 = percentiles(latencies)
        print(f"  {label:34s} run {run}: {rate:7.1f} req/s   p50 {p50:7.1f}  p95 {p95:7.1f}  p99 {p99:7.1f} ms",
              flush=True)
    rates = [r for r, _ in results]
    p99s = [percentiles(lat)[2] for _, lat in results]
    p50s = [percentiles(lat)[0] for _, lat in results]
    print(f"  {label:34s} req/s min {min(rates):.1f} median {statistics.median(rates):.1f}; "
          f"p50 median {statistics.median(p50s):.1f} ms; p99 min {min(p99s):.1f} median {statistics.median(p99s):.1f} ms",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_PG, help="PostgreSQL server for the scratch database, "
                                                                   "or 'sqlite'")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from host_stub import create_app
    from host_stub.models import db
    from kw_crm.services import tokens
    from kw_crm.tenancy import tenant_scope

    folder = scratch_dir()
    kind = "sqlite" if args.database_url == "sqlite" else "postgresql"
    url, drop = scratch_url(kind, args.database_url, folder)
    try:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "CRM_STORAGE_DIR": str(folder)})
        with app.app_context():
            upgrade()
        tenant_id, admin = make_tenant(app, "load-a")
        other_id, _ = make_tenant(app, "load-b")
        started = time.perf_counter()
        grow(app, tenant_id, "load-a", 0, args.contacts)
        grow(app, other_id, "load-b", 0, args.contacts)
        with app.app_context(), tenant_scope(tenant_id):
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(sa.text("VACUUM ANALYZE"))
            token = tokens.create("load benchmark", None, actor_id=admin.id).secret
            engine = db.engine
        print(f"{kind}: two tenants of {args.contacts:,} contacts in {time.perf_counter() - started:.0f} s; "
              f"{args.clients} clients, {args.seconds:.0f} s per run after {WARM_UP:.0f} s warm-up, "
              f"load average before: {os.getloadavg()[0]:.1f}", flush=True)

        for workers in args.workers:
            server = Server(url, workers, folder)
            try:
                server.wait_ready(token)
                results = []
                for _ in range(args.runs):
                    request, connections = http_requests(server.port, token, args.contacts, args.clients)
                    results.append(drive(request, args.clients, args.seconds))
                    for conn in connections:
                        conn.close()
                report(f"gunicorn -w {workers}, API search", results)
            finally:
                server.stop()
        results = []
        for _ in range(args.runs):
            request, connections = raw_requests(engine, tenant_id, args.contacts, args.clients)
            results.append(drive(request, args.clients, args.seconds))
            for conn in connections:
                conn.close()
        report("raw SQL, same statements", results)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        engine.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
