"""Install a plugin the way a real one arrives: a ``*.dist-info`` with an ``entry_points.txt``
in the ``kw_platform`` group, on ``sys.path``, so ``importlib.metadata`` finds it."""
import sys
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def installed_plugin(tmp_path: Path, dist_name: str, entry_name: str, module_name: str, source: str):
    root = tmp_path / f"site-{dist_name}"
    info = root / f"{dist_name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[kw_platform]\n{entry_name} = {module_name}\n")
    (root / f"{module_name}.py").write_text(source)
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path.remove(str(root))
        sys.modules.pop(module_name, None)
