"""Every script in ``benchmarks/`` still runs against the current app (at toy sizes, on SQLite).

The figures in the README are only worth rerunning if the scripts start: three of them stopped at
once (no SECRET_KEY after the host began refusing to run without one; no path to ``host_stub``)
and nobody noticed. These runs assert that each script finishes and prints its table; they
measure nothing (the sizes are far too small, and timings are never asserted in tests).
load_search.py is covered in part: it needs gunicorn workers on a PostgreSQL database, so only
its ``--help`` runs here. Scratch files go to the test's own temporary folder, and must be
gone when the script ends."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

RUNS = {
    "activities_queue.py": (["--activities", "300", "--deals", "60", "--owners", "3"], "ratio API/raw"),
    "bench_contacts_list.py": (["--contacts", "300", "--runs", "1"], "floor: GET one contact"),
    "communications.py": (["--communications", "400", "--messages", "40", "--runs", "1"], "ingest_many"),
    "contact_triggers.py": (["--rows", "200", "--runs", "1"], "with"),
    "customers.py": (["--customers", "60"], "ms"),
    "deals_board.py": (["--deals", "60"], "ms"),
    "exports.py": (["--sizes", "200", "--kinds", "contacts"], "peak"),
    "forecast.py": (["--deals", "200", "--db", "sqlite", "--runs", "1"], "forecast API, 365 days"),
    "import_contacts.py": (["--rows", "300", "--db", "sqlite", "--cases", "first"], "| sqlite | first | 300 |"),
    "import_jobs.py": (["--rows", "300", "--runs", "1", "--db", "sqlite"], "job / cli ratio"),
    "load_search.py": (["--help"], "--workers"),
}


def test_every_benchmark_script_is_covered():
    scripts = {p.name for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(RUNS)


@pytest.mark.parametrize("script", sorted(RUNS))
def test_benchmark_runs_at_toy_size(script, tmp_path):
    args, expected = RUNS[script]
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=tmp_path,
                          env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert expected in done.stdout, done.stdout[-3000:]
    assert list(tmp_path.glob("kw_bench_*")) == []  # scratch databases are removed on exit
