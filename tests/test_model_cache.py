"""The model cache (podnet/cli/modelcache.py): a repeated question skips the build, any change to
the input or options builds again, and nothing in the cache directory is trusted unless this
user's key signed it."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

import podnet.model.cluster as cluster_mod
from podnet.cli import common, modelcache
from podnet.cli.app import main
from podnet.model.load import read_texts
from podnet.model.objects import Pod
from tests.conftest import EXAMPLES, ROOT
from tests.helpers import counted

sys.path.insert(0, str(ROOT / "bench"))
import gen  # noqa: E402

OSLO = EXAMPLES / "oslo"
REAL_BUILD = cluster_mod.build


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[int]]:
    """A cache directory of this test's own, and a count of the models built."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    yield counted(monkeypatch, cluster_mod, "build")


def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "xdg" / "podnet"


def entries(tmp_path: Path) -> list[Path]:
    return sorted(cache_dir(tmp_path).glob("*.model"))


def manifests(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    shutil.copytree(OSLO, d)
    return d


def test_second_load_is_equal_and_not_built(builds: list[int], tmp_path: Path) -> None:
    src = manifests(tmp_path)
    first = common.load_cluster([str(src)])
    assert len(builds) == 1 and len(entries(tmp_path)) == 1
    second = common.load_cluster([str(src)])
    assert len(builds) == 1
    assert second == first and second is not first
    # the frozen shapes survive: proxies stay read-only, pods stay NamedTuples
    assert isinstance(second.namespaces, MappingProxyType)
    assert type(second.pods[0]) is Pod and second.pods[0].key == first.pods[0].key
    assert second.warnings == first.warnings
    assert second.pod(first.pods[3].key) == first.pods[3]


def test_round_trip_of_a_generated_cluster() -> None:
    import json

    text = json.dumps(gen.cluster(600, 20, 40))
    built = cluster_mod.build(read_texts([("gen.json", text)]))
    back = modelcache.loads(modelcache.dumps(built))
    assert back == built
    assert [p.labels for p in back.pods] == [p.labels for p in built.pods]
    assert back.policies and back.policies == built.policies


@pytest.mark.parametrize("edit", ["label", "add-file", "nodes", "override", "keep-prefix"])
def test_any_change_builds_again(builds: list[int], tmp_path: Path, edit: str) -> None:
    src = manifests(tmp_path)
    base = common.load_cluster([str(src)])
    kwargs: dict[str, Any] = {}
    if edit == "label":
        f = next(p for p in sorted(src.rglob("*.yaml")) if b"app: backend" in p.read_bytes())
        f.write_bytes(f.read_bytes().replace(b"app: backend", b"app: backenc", 1))
    elif edit == "add-file":
        (src / "zz.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: zz\n")
    elif edit == "nodes":
        kwargs["nodes"] = 4
    elif edit == "override":
        kwargs["cluster_cidr"] = "10.240.0.0/12"
    else:
        kwargs["keep_prefix"] = True
    again = common.load_cluster([str(src)], **kwargs)
    assert len(builds) == 2
    assert len(entries(tmp_path)) == 2
    if edit in ("label", "add-file", "override"):
        assert again != base


def test_one_byte_anywhere_changes_the_key(tmp_path: Path) -> None:
    from podnet.model.load import gather

    f = tmp_path / "a.yaml"
    data = (OSLO / "namespaces.yaml").read_bytes() if (OSLO / "namespaces.yaml").exists() \
        else next(OSLO.rglob("*.yaml")).read_bytes()
    digests = set()
    for at in (0, len(data) // 2, len(data) - 1):
        changed = bytearray(data)
        changed[at] ^= 0x01
        f.write_bytes(bytes(changed))
        digests.add(gather([str(f)], digest=True).digest)
    f.write_bytes(data)
    digests.add(gather([str(f)], digest=True).digest)
    assert len(digests) == 4


def test_stdin_is_hashed_and_read_once(builds: list[int], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    text = next(p for p in sorted(OSLO.rglob("*.yaml"))).read_bytes()

    def feed(data: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))

    feed(text)
    first = common.load_cluster(["-"])
    feed(text)
    assert common.load_cluster(["-"]) == first and len(builds) == 1
    feed(text + b"\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n")
    assert "other" in common.load_cluster(["-"]).namespaces and len(builds) == 2


def sign(tmp_path: Path, key: str, payload: bytes, secret: bytes | None = None) -> None:
    d = cache_dir(tmp_path)
    secret = secret if secret is not None else (d / "key").read_bytes()
    mac = hmac.new(secret, modelcache.MAGIC + key.encode() + b"\0" + payload, "sha256").digest()
    (d / (key + modelcache.SUFFIX)).write_bytes(modelcache.MAGIC + mac + payload)


class Boom:
    """A pickle that runs code when loaded: it must never be loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def tamper(tmp_path: Path, how: str, entry: Path) -> None:
    key = entry.name[: -len(modelcache.SUFFIX)]
    marker = tmp_path / "pwned"
    if how == "flip-byte":  # in a name: the pickle still loads, into another model
        data = bytearray(entry.read_bytes())
        at = data.index(b"frontend")
        data[at] ^= 0x20
        entry.write_bytes(bytes(data))
    elif how == "corrupt":
        data = bytearray(entry.read_bytes())
        data[len(data) // 2] ^= 0xFF
        entry.write_bytes(bytes(data))
    elif how == "truncated":
        entry.write_bytes(entry.read_bytes()[: len(modelcache.MAGIC) + 40])
    elif how == "wrong-hmac":  # a planted model, signed with a key that is not ours
        planted = REAL_BUILD(read_texts([("x.yaml", "kind: Namespace\nmetadata: {name: x}\n")]))
        sign(tmp_path, key, modelcache.dumps(planted), secret=b"x" * 32)
    elif how == "foreign-global":  # signed right, but names something outside the model
        sign(tmp_path, key, pickle.dumps(Boom(marker)))
    elif how == "other-owner":
        os.chown(entry, 12345, 12345)
    elif how == "group-writable":
        entry.chmod(0o620)
    elif how == "other-writable":
        entry.chmod(0o602)
    elif how == "symlink":
        real = tmp_path / "elsewhere.model"
        entry.rename(real)
        entry.symlink_to(real)
    elif how == "key-readable":  # a key others could read may have been copied: not trusted
        (cache_dir(tmp_path) / "key").chmod(0o644)
    elif how == "garbage":
        entry.write_bytes(b"not a cache entry at all")


TAMPERING = ["flip-byte", "corrupt", "truncated", "wrong-hmac", "foreign-global", "other-owner",
             "group-writable", "other-writable", "symlink", "key-readable", "garbage"]


@pytest.mark.parametrize("how", TAMPERING)
def test_tampered_entry_is_rejected_and_rebuilt(builds: list[int], tmp_path: Path,
                                                how: str) -> None:
    if how == "other-owner" and os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    src = manifests(tmp_path)
    first = common.load_cluster([str(src)])
    (entry,) = entries(tmp_path)
    tamper(tmp_path, how, entry)
    again = common.load_cluster([str(src)])
    assert len(builds) == 2, "a tampered entry was trusted"
    assert again == first
    assert not (tmp_path / "pwned").exists()
    # the rebuilt model replaced the entry: the next run trusts it again
    assert common.load_cluster([str(src)]) == first and len(builds) == 2
    st = entry.lstat()
    assert st.st_uid == os.geteuid() and st.st_mode & 0o077 == 0 and not entry.is_symlink()


def test_foreign_cache_directory_is_not_used(builds: list[int], tmp_path: Path) -> None:
    d = cache_dir(tmp_path)
    d.mkdir(parents=True)
    d.chmod(0o777)
    src = manifests(tmp_path)
    common.load_cluster([str(src)])
    common.load_cluster([str(src)])
    assert len(builds) == 2 and not entries(tmp_path)


def test_new_directory_and_key_are_private(builds: list[int], tmp_path: Path) -> None:
    common.load_cluster([str(manifests(tmp_path))])
    d = cache_dir(tmp_path)
    assert d.stat().st_mode & 0o777 == 0o700
    assert (d / "key").stat().st_mode & 0o777 == 0o600
    assert entries(tmp_path)[0].stat().st_mode & 0o777 == 0o600


def run_main(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def test_no_cache_option_and_environment_bypass(builds: list[int], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    src = str(manifests(tmp_path))
    args = ("dns", "-f", src, "--pod", "production/frontend-0", "backend-service")
    assert run_main("--no-cache", *args) == 0
    assert len(builds) == 1 and not entries(tmp_path)  # neither read nor written
    assert run_main(*args) == 0
    assert len(builds) == 2 and len(entries(tmp_path)) == 1
    assert run_main(*args) == 0
    assert len(builds) == 2  # cached
    assert run_main("--no-cache", *args) == 0
    assert len(builds) == 3  # an entry exists, and is not read
    monkeypatch.setenv("PODNET_NO_CACHE", "1")
    assert run_main(*args) == 0
    assert len(builds) == 4
    out = capsys.readouterr().out
    assert out.count("backend-service") >= 5  # the same answer every time


def test_entries_are_bounded_most_recent_kept(builds: list[int], tmp_path: Path) -> None:
    src = manifests(tmp_path)
    for n in range(1, modelcache.MAX_ENTRIES + 3):
        common.load_cluster([str(src)], nodes=n)
        if n == 1:
            os.utime(entries(tmp_path)[0], (1, 1))  # old: the first to go
    assert len(entries(tmp_path)) == modelcache.MAX_ENTRIES
    built = len(builds)
    common.load_cluster([str(src)], nodes=modelcache.MAX_ENTRIES + 2)
    assert len(builds) == built  # the newest stayed
    common.load_cluster([str(src)], nodes=1)
    assert len(builds) == built + 1  # the oldest went


WRITER = r"""
import sys
from podnet.cli.common import load_cluster
print(len(load_cluster([sys.argv[1]]).pods))
"""


def test_concurrent_writers_leave_a_valid_cache(builds: list[int], tmp_path: Path) -> None:
    import json

    src = tmp_path / "gen.json"
    src.write_text(json.dumps(gen.cluster(3000, 60, 120)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(2):  # the second round replaces an entry while another run may read it
        procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(src)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert {o for o, _ in outs} == {"3000\n"}
    (entry,) = entries(tmp_path)
    assert not [p for p in cache_dir(tmp_path).iterdir() if p.name.startswith(".tmp-")]
    assert len(common.load_cluster([str(src)]).pods) == 3000
    assert builds == []  # this process built nothing: the writers' entry was valid
    assert entry.exists()


def test_format_follows_the_model_source(tmp_path: Path) -> None:
    root = tmp_path / "podnet"
    (root / "model").mkdir(parents=True)
    (root / "model" / "objects.py").write_text("X = 1\n")
    before = modelcache.source_hash(root)
    (root / "model" / "objects.py").write_text("X = 2\n")
    assert modelcache.source_hash(root) != before
    assert modelcache.format_version().startswith(__import__("podnet").__version__ + "+")


def test_key_covers_options_and_format(monkeypatch: pytest.MonkeyPatch) -> None:
    base = modelcache.key("d", 3, False, {})
    assert len({base, modelcache.key("e", 3, False, {}), modelcache.key("d", 4, False, {}),
                modelcache.key("d", 3, True, {}),
                modelcache.key("d", 3, False, {"cni": "vxlan"})}) == 5
    monkeypatch.setattr(modelcache, "_format", "0.0.0+other")
    assert modelcache.key("d", 3, False, {}) != base


def test_digest_is_sha256_of_labelled_input(tmp_path: Path) -> None:
    from podnet.model.load import gather

    f = tmp_path / "a.yaml"
    f.write_bytes(b"x")
    got = gather([str(f)], digest=True).digest
    assert got == gather([str(f)], digest=True).digest and len(got) == 64
    assert gather([str(f)]).digest == ""  # not asked for: not computed
    assert got != hashlib.sha256(b"x").hexdigest()


def test_sections_load_on_first_use_and_equal_the_model(builds: list[int],
                                                       tmp_path: Path) -> None:
    import dataclasses

    from podnet.cli.modelfile import LazyCluster

    src = manifests(tmp_path)
    first = common.load_cluster([str(src)])
    second = common.load_cluster([str(src)])
    assert isinstance(second, LazyCluster) and len(builds) == 1
    pod = first.pods[5]
    assert second.pod(pod.key) == pod and second.pod("no-such-namespace/x") is None
    assert second.policies_in(pod.namespace) == first.policies_in(pod.namespace)
    assert "pods" not in second.__dict__  # one namespace read, not the model
    assert second.pods == first.pods and second.pod(pod.key) is second.pods[5]
    assert second == first and first == second
    copy = dataclasses.replace(second, policies=())
    assert copy.policies == () and copy.policies_in(pod.namespace) == ()
    assert copy.pods == first.pods
    assert modelcache.loads(modelcache.dumps(second)) == first  # a lazy model stores again


def test_a_signed_section_naming_a_foreign_global_runs_nothing(tmp_path: Path) -> None:
    from podnet.cli import modelfile

    marker = tmp_path / "pwned"
    built = REAL_BUILD(read_texts([("x.yaml", "kind: Namespace\nmetadata: {name: x}\n")]))
    payload = bytearray(modelfile.dumps(built))
    lazy = modelfile.loads(bytes(payload))
    at, size = lazy._sections.table["field:nodes"]
    start = len(payload) - len(lazy._sections.body)
    evil = pickle.dumps(Boom(marker))
    body = bytes(payload[:start + at]) + evil + bytes(payload[start + at + size:])
    # the table still says the old size: rebuild the payload around a table that fits
    table = {k: (a if a <= at else a - size + len(evil), len(evil) if k == "field:nodes" else n)
             for k, (a, n) in lazy._sections.table.items()}
    head = modelfile._pickle({"order": lazy._sections.order, "table": table,
                              "grouped": sorted(lazy._sections.grouped),
                              "eager": lazy._sections.eager})
    body = body[start:]
    forged = modelfile.loads(modelfile.FORMAT + modelfile._LENGTH.pack(len(head)) + head + body)
    with pytest.raises(pickle.UnpicklingError):
        _ = forged.nodes
    assert not marker.exists()
    assert forged.namespaces["x"].name == "x"  # the other sections are intact
