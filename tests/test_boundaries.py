"""Pure core, side effects at the edge: outside the two edges (podnet.lab, which changes the
kernel, and podnet.host, which reads the machine it runs on) nothing touches the kernel."""

import ast
from pathlib import Path

import podnet

FORBIDDEN = {"pyroute2", "subprocess", "socket", "ctypes"}
PKG = Path(podnet.__file__).parent
EDGES = {"lab", "host"}


def test_no_kernel_imports_outside_the_edges():
    offenders = []
    for f in PKG.rglob("*.py"):
        rel = f.relative_to(PKG)
        if rel.parts[0] in EDGES:
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


def test_the_edges_are_reached_only_lazily_from_the_cli():
    """The analyzer commands must start where the edges cannot run (no root, no pyroute2,
    no etcd): the CLI imports podnet.lab and podnet.host inside the commands that need them."""
    for f in sorted((PKG / "cli").glob("*.py")):
        tree = ast.parse(f.read_text())
        for node in tree.body:  # module level only
            mods = []
            if isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            for m in mods:
                assert m.split(".")[:2] not in (["podnet", "lab"], ["podnet", "host"]), f"{f.name}: {m}"


def test_public_surface_is_explicit():
    import podnet.model
    import podnet.policy

    for mod in (podnet.model, podnet.policy):
        assert sorted(mod.__all__) == mod.__all__
        for name in mod.__all__:
            assert hasattr(mod, name)
