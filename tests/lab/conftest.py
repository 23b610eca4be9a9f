"""Lab tests run as root against the real kernel. Each gets a unique lab name and is torn down
in ``finally``; a session check fails if any ``pn-`` namespace of a test lab is left."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest


def netns_names() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _root_only():
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("lab tests need root and CI runs as root")
        pytest.skip("lab tests need root")


@pytest.fixture
def lab_name():
    name = "t" + uuid.uuid4().hex[:8]
    try:
        yield name
    finally:
        from podnet.lab import teardown

        teardown.down(name)
        left = [n for n in netns_names() if n.startswith(f"pn-{name}_")]
        assert left == [], f"lab {name} left namespaces behind: {left}"


def pytest_collection_modifyitems(items):
    # every test under tests/lab needs root and the real kernel: `pytest -m "not lab"` runs the
    # rest of the suite anywhere
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here + os.sep):
            item.add_marker(pytest.mark.lab)
