"""Read this machine for ``podnet node check``: /proc/sys, /sys/class/net, /proc/net, the module
lists, and the rule counts of iptables-save and nft. Read-only: no sysctl is written, no module
is loaded (a listing that could make the kernel load one is skipped), nothing is created."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from podnet.doctor.ctflood import parse_stats
from podnet.doctor.node import (
    FEATURES,
    SYSCTLS,
    Interface,
    NodeReadings,
    count_iptables_rules,
    count_nft_rules,
)

# Files that exist only while a feature is in the kernel, for features built in without
# module parameters (those have no /sys/module entry).
FEATURE_PROOF = {
    "br_netfilter": "/proc/sys/net/bridge/bridge-nf-call-iptables",
    "ip_vs": "/proc/net/ip_vs",
    "ipip": "/sys/class/net/tunl0",  # the fallback tunnel device ipip makes in every netns
    "nf_conntrack": "/proc/sys/net/netfilter/nf_conntrack_max",
    "wireguard": "/sys/module/wireguard",
}


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def read_sysctl(name: str, root: Path = Path("/")) -> int | None:
    return _read_int(root / "proc/sys" / name.replace(".", "/"))


def loaded_modules(root: Path = Path("/")) -> set[str] | None:
    """Names in /proc/modules, or None when the kernel has no loadable module support."""
    try:
        text = (root / "proc/modules").read_text()
    except OSError:
        return None
    return {line.split()[0] for line in text.splitlines() if line.strip()}


def _module_files(root: Path) -> tuple[set[str], set[str]]:
    """Modules the running kernel has on disk, and those built in (modules.dep, .builtin)."""
    base = root / "lib/modules" / platform.release()
    names: list[set[str]] = []
    for f in ("modules.dep", "modules.builtin"):
        try:
            lines = (base / f).read_text().splitlines()
        except OSError:
            lines = []
        # "kernel/net/ipv4/ipip.ko.xz: deps" -> ipip; module file names use - or _ freely
        names.append({Path(ln.split(":")[0]).name.split(".ko")[0].replace("-", "_")
                      for ln in lines if ln})
    return names[0], names[1]


def feature_state(name: str, root: Path = Path("/")) -> tuple[str, str]:
    modules = loaded_modules(root)
    if modules is not None and name in modules:
        return "loaded", "/proc/modules"
    on_disk, builtin = _module_files(root)
    sys_module = root / "sys/module" / name
    proof = FEATURE_PROOF.get(name)
    if name in builtin:
        return "built-in", f"modules.builtin of {platform.release()}"
    if sys_module.exists():
        return "built-in", f"/sys/module/{name} exists and /proc/modules does not list it"
    if proof and (root / proof.lstrip("/")).exists():
        return "built-in", f"{proof} exists"
    if modules is None:
        return "absent", "no /proc/modules (no loadable modules) and no sign of it in /sys or /proc"
    if name in on_disk:
        return "not loaded", f"in modules.dep of {platform.release()}, not in /proc/modules"
    return "not loaded", "not in /proc/modules; modules.dep does not list it (or is unreadable)"


def read_interfaces(root: Path = Path("/")) -> tuple[Interface, ...]:
    out = []
    base = root / "sys/class/net"
    for d in sorted(base.iterdir()) if base.is_dir() else []:
        mtu = _read_int(d / "mtu")
        if mtu is None:
            continue
        devtype = ""
        try:
            for line in (d / "uevent").read_text().splitlines():
                if line.startswith("DEVTYPE="):
                    devtype = line.split("=", 1)[1]
        except OSError:
            pass
        out.append(Interface(d.name, mtu, devtype))
    return tuple(out)


def default_route_interface(root: Path = Path("/")) -> str | None:
    """The interface of the IPv4 default route with the lowest metric (/proc/net/route)."""
    try:
        lines = (root / "proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return None
    best: tuple[int, str] | None = None
    for line in lines:
        f = line.split()
        if len(f) >= 8 and f[1] == "00000000" and f[7] == "00000000":
            cand = (int(f[6]), f[0])
            best = cand if best is None or cand < best else best
    return best[1] if best else None


def conntrack_stats(root: Path = Path("/")) -> dict[str, int] | None:
    """/proc/net/stat/nf_conntrack, summed over the CPUs (doctor.ctflood.parse_stats)."""
    try:
        text = (root / "proc/net/stat/nf_conntrack").read_text()
    except OSError:
        return None
    return parse_stats(text) or None


def _can_autoload(root: Path) -> bool:
    """Whether asking the kernel about a missing netfilter family could make it load a module."""
    return loaded_modules(root) is not None


def _run(argv: list[str]) -> str | None:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout if p.returncode == 0 else None


def rule_counts(root: Path = Path("/")) -> dict[str, int | str]:
    """Rules loaded in this network namespace, by ``iptables-save`` and ``nft list ruleset``,
    only where the tool exists and listing cannot load a module (nf_tables for nft and
    iptables-nft, ip_tables for legacy iptables must already be in the kernel)."""
    out: dict[str, int | str] = {}
    autoload = _can_autoload(root)
    nft_in = feature_state("nf_tables", root)[0] in ("loaded", "built-in")
    if shutil.which("nft") is None:
        out["nft"] = "nft is not installed"
    elif os.geteuid() != 0:
        out["nft"] = "listing the ruleset needs root"
    elif autoload and not nft_in:
        out["nft"] = "nf_tables is not loaded (listing could load it)"
    else:
        text = _run(["nft", "list", "ruleset"])
        out["nft"] = count_nft_rules(text) if text is not None else "nft list ruleset failed"
    if shutil.which("iptables-save") is None:
        out["iptables-save"] = "iptables-save is not installed"
    elif os.geteuid() != 0:
        out["iptables-save"] = "iptables-save needs root"
    else:
        version = _run(["iptables-save", "--version"]) or ""
        backend = "nf_tables" if "nf_tables" in version else "ip_tables"
        if autoload and feature_state(backend, root)[0] not in ("loaded", "built-in"):
            out["iptables-save"] = f"{backend} is not loaded (listing could load it)"
        else:
            text = _run(["iptables-save"])
            out["iptables-save"] = (count_iptables_rules(text) if text is not None
                                    else "iptables-save failed")
    return out


def read_node(root: Path = Path("/"), rules: bool = True) -> NodeReadings:
    return NodeReadings(
        hostname=platform.node(),
        cpus=os.cpu_count() or 1,
        sysctls={name: read_sysctl(name, root) for name in SYSCTLS},
        features={name: feature_state(name, root) for name in FEATURES},
        interfaces=read_interfaces(root),
        default_route_interface=default_route_interface(root),
        conntrack_stats=conntrack_stats(root),
        rule_counts=rule_counts(root) if rules else {},
        hashsize=_read_int(root / "sys/module/nf_conntrack/parameters/hashsize"))
