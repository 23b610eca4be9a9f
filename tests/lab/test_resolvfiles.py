"""/etc/netns for the lab's resolv.conf files (podnet/lab/resolvfiles.py), on the real file
system under a directory of the test's own: one directory per distinct text, one symbolic link
to it, and a name per namespace for that link's inode, each namespace reading its own text;
teardown removes exactly that, and nothing it did not make (a link pointed elsewhere, a
directory in a link's place, a foreign namespace)."""

from __future__ import annotations

import errno
import os

import pytest

from podnet.errors import LabError
from podnet.lab import ledger, resolvfiles
from podnet.lab.steps import WriteResolvConf

A = "search a.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\n"
B = "search b.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\n"
NODE = "nameserver 10.0.0.254\n"


@pytest.fixture
def etc(tmp_path, monkeypatch):
    monkeypatch.setattr(ledger, "STATE_ROOT", tmp_path / "state")
    monkeypatch.setattr(resolvfiles, "NETNS_ETC", tmp_path / "etc-netns")
    return tmp_path / "etc-netns"


def _ledger(lab: str = "rf") -> ledger.Ledger:
    led = ledger.Ledger(lab)
    led.open_new()
    return led


def _steps() -> list[WriteResolvConf]:
    return [WriteResolvConf("pn-rf_n_n1", NODE), WriteResolvConf("pn-rf_p_a_web-0", A),
            WriteResolvConf("pn-rf_p_a_web-1", A), WriteResolvConf("pn-rf_p_b_api-0", B),
            WriteResolvConf("pn-rf_n_n2", NODE)]


def test_each_namespace_reads_its_own_text_and_each_text_is_written_once(etc):
    led = _ledger()
    resolvfiles.write(_steps(), led)
    for step in _steps():
        assert (etc / step.netns / "resolv.conf").read_text() == step.text
        assert (etc / step.netns).is_symlink()
    dirs = sorted(p.name for p in etc.iterdir() if not p.is_symlink())
    assert dirs == ["pn-rf_resolv-0", "pn-rf_resolv-1", "pn-rf_resolv-2"]
    # three inodes for the five names: each text's link, named once more per namespace
    inodes = {os.lstat(etc / s.netns).st_ino for s in _steps()}
    assert inodes == {os.lstat(etc / f"{d}-link-0").st_ino for d in dirs}
    assert os.lstat(etc / "pn-rf_resolv-1-link-0").st_nlink == 3  # itself, web-0, web-1
    removed = resolvfiles.remove(led.entries(), led)
    assert len(removed) == 5 + 3 + 3
    assert list(etc.iterdir()) == []


def test_a_link_full_of_names_gives_way_to_a_new_one(etc, monkeypatch):
    """Past a file system's limit of names for one inode (EMLINK: 65,000 on ext4) the next
    names go to a new link to the same directory."""
    calls = []
    real = os.link

    def link(src, dst, *, follow_symlinks=True):
        calls.append(dst)
        if len(calls) == 2:  # the kernel's answer once the inode holds all it can
            raise OSError(errno.EMLINK, os.strerror(errno.EMLINK))
        real(src, dst, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(resolvfiles.os, "link", link)
    led = _ledger()
    steps = [WriteResolvConf(f"pn-rf_p_a_web-{k}", A) for k in range(3)]
    resolvfiles.write(steps, led)
    assert [(etc / s.netns / "resolv.conf").read_text() for s in steps] == [A] * 3
    assert sorted(p.name for p in etc.iterdir() if "link" in p.name) == [
        "pn-rf_resolv-0-link-0", "pn-rf_resolv-0-link-1"]
    resolvfiles.remove(led.entries(), led)
    assert list(etc.iterdir()) == []


def test_teardown_leaves_what_it_did_not_make(etc, tmp_path):
    led = _ledger()
    resolvfiles.write(_steps(), led)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "resolv.conf").write_text("mine\n")
    # a link pointed elsewhere since, and a directory where a link was
    (etc / "pn-rf_p_a_web-0").unlink()
    os.symlink(foreign, etc / "pn-rf_p_a_web-0")
    (etc / "pn-rf_p_b_api-0").unlink()
    (etc / "pn-rf_p_b_api-0").mkdir()
    (etc / "pn-rf_p_b_api-0" / "keep").write_text("mine\n")
    resolvfiles.remove(led.entries(), led)
    assert sorted(p.name for p in etc.iterdir()) == ["pn-rf_p_a_web-0", "pn-rf_p_b_api-0"]
    assert os.readlink(etc / "pn-rf_p_a_web-0") == str(foreign)
    assert (foreign / "resolv.conf").read_text() == "mine\n"
    assert (etc / "pn-rf_p_b_api-0" / "keep").read_text() == "mine\n"


def test_a_foreign_or_existing_name_is_refused_and_left_alone(etc):
    led = _ledger()
    with pytest.raises(LabError, match="not a namespace of lab 'rf'"):
        resolvfiles.write([WriteResolvConf("pn-other_p_a_web-0", A)], led)
    assert not etc.exists() or list(etc.iterdir()) == []
    etc.mkdir(exist_ok=True)
    (etc / "pn-rf_p_a_web-0").mkdir()
    with pytest.raises(LabError, match=r"write /etc/netns/pn-rf_p_a_web-0/resolv.conf .*Exists"):
        resolvfiles.write([WriteResolvConf("pn-rf_p_a_web-0", A)], led)
    assert list((etc / "pn-rf_p_a_web-0").iterdir()) == []
    resolvfiles.remove(led.entries(), led)  # the shared directory it made goes; the other stays
    assert [p.name for p in etc.iterdir()] == ["pn-rf_p_a_web-0"]


def test_a_directory_per_namespace_of_an_earlier_version_is_removed(etc):
    led = _ledger()
    etc.mkdir()
    led.record("etc-netns", netns="pn-rf_p_a_web-0")
    (etc / "pn-rf_p_a_web-0").mkdir()
    resolvfiles.write_new(etc / "pn-rf_p_a_web-0" / "resolv.conf", A)
    assert resolvfiles.remove(led.entries(), led) == [f"dir {etc / 'pn-rf_p_a_web-0'}"]
    assert list(etc.iterdir()) == []
