"""Pure core, side effects at the edge: outside podnet.lab nothing touches the kernel."""

import ast
from pathlib import Path

import podnet

FORBIDDEN = {"pyroute2", "subprocess", "socket", "ctypes"}
PKG = Path(podnet.__file__).parent


def test_no_kernel_imports_outside_lab():
    offenders = []
    for f in PKG.rglob("*.py"):
        rel = f.relative_to(PKG)
        if rel.parts[0] == "lab":
            continue
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            offenders += [f"{rel}: {n}" for n in names if n in FORBIDDEN]
    assert offenders == []


def test_public_surface_is_explicit():
    import podnet.model
    import podnet.policy

    for mod in (podnet.model, podnet.policy):
        assert sorted(mod.__all__) == mod.__all__
        for name in mod.__all__:
            assert hasattr(mod, name)
