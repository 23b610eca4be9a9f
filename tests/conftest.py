from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PODNET_SHARED", ROOT.parent / "shared"))
CONFORMANCE = SHARED / "conformance" / "netpol-analyzer"
EXAMPLES = ROOT / "examples"

# netpol-analyzer's corpus is data outside the repository (../shared, or PODNET_SHARED): the
# tests that read it skip, naming the directory, where it is absent.
needs_corpus = pytest.mark.skipif(
    not CONFORMANCE.is_dir(),
    reason=f"needs netpol-analyzer's corpus at {CONFORMANCE} (absent; set PODNET_SHARED)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true",
                     help="rewrite golden files from current output (never in CI)")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture
def golden(update_goldens: bool):  # type: ignore[no-untyped-def]
    """Compare text with tests/golden/<name>; rewrite it with --update-goldens."""

    def check(name: str, text: str) -> None:
        path = ROOT / "tests" / "golden" / name
        if update_goldens:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert path.exists(), f"missing golden {path}; run pytest --update-goldens"
        assert text == path.read_text(), f"output differs from golden {name}"

    return check


@pytest.fixture(scope="session")
def model_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def _private_model_cache(model_cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test (and every podnet it starts) uses a model cache of the test session's own,
    never the user's: one directory for the session, so the suite also runs with the cache
    warm, as a user would, at no more cost than one write per distinct input."""
    from podnet.cli import common

    monkeypatch.setenv("XDG_CACHE_HOME", str(model_cache_home))
    monkeypatch.delenv("PODNET_NO_CACHE", raising=False)
    monkeypatch.setitem(common.CACHE, "enabled", True)
