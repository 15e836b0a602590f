"""One local Ray cluster for the whole test session (2 CPUs), and the bundled corpus split into small passages."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "examples" / "corpus"
QUESTIONS = (ROOT / "examples" / "questions.txt").read_text(encoding="utf-8").splitlines()
SMALL_PASSAGES = 64  # word pieces (more than the 48 of overlap): the 12 bundled documents become dozens of passages


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray of 2 CPUs, started once; tests that need it are skipped when ray is not installed."""
    try:
        import ray
        import ray.data
    except ImportError:
        pytest.skip("ray is not installed (pip install -e '.[ray]')")
    ray.init(num_cpus=2, log_to_driver=False, configure_logging=False, include_dashboard=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def pyarrow():
    return pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install -e '.[ray]')")
