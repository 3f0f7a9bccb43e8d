"""Benchmarks of kw_crm (see README.md here). Shared helpers only."""
import atexit
import shutil
import tempfile
from pathlib import Path


def scratch_dir(prefix: str = "kw_bench_") -> Path:
    """A temporary folder, removed when the script exits: the SQLite files of a 1M-row run are
    gigabytes, and runs used to leave them behind in /tmp."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path
