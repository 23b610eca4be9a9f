"""MetalLB's address pools, from the objects that declare them.

``IPAddressPool`` (metallb.io/v1beta1, MetalLB 0.13 and later): ``spec.addresses`` (CIDRs or
``first-last`` ranges), ``autoAssign`` (default true), ``avoidBuggyIPs`` (default false),
``serviceAllocation`` (``priority``, ``namespaces``, ``namespaceSelectors``,
``serviceSelectors``). The ConfigMap ``metallb-system/config`` of MetalLB 0.12 and earlier
(the seeds' form): ``address-pools`` with ``name``, ``addresses``, ``auto-assign`` and
``avoid-buggy-ips``. IPv6 entries are kept out: podnet's Services are IPv4.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from podnet.errors import InputError
from podnet.model.fields import Fields
from podnet.model.objects import Other
from podnet.model.selectors import EVERYTHING, LabelSelector

LEGACY_CONFIGMAP = ("metallb-system", "config")


@dataclass(frozen=True, slots=True)
class AddressPool:
    name: str
    ranges: tuple[tuple[int, int], ...]  # inclusive IPv4 ranges, in the order written
    source: str  # "IPAddressPool metallb-system/x" or "ConfigMap metallb-system/config"
    auto_assign: bool = True
    avoid_buggy_ips: bool = False
    priority: int | None = None  # 0 or absent: after every pool with a priority
    namespaces: tuple[str, ...] = ()
    namespace_selectors: tuple[LabelSelector, ...] = ()
    service_selectors: tuple[LabelSelector, ...] = ()
    # serviceAllocation is present: MetalLB then never uses the pool as a plain auto-assign pool,
    # only as a pinned one (internal/allocator's Allocate skips pools with ServiceAllocations)
    allocation: bool = False

    def contains(self, ip: int) -> bool:
        if self.avoid_buggy_ips and (ip & 0xFF) in (0, 255):
            return False
        return any(lo <= ip <= hi for lo, hi in self.ranges)

    def addresses(self) -> Iterable[int]:
        for lo, hi in self.ranges:
            for ip in range(lo, hi + 1):
                if not (self.avoid_buggy_ips and (ip & 0xFF) in (0, 255)):
                    yield ip


def _ranges(f: Fields, key: str) -> tuple[tuple[int, int], ...]:
    out = []
    for i, text in enumerate(f.str_list(key)):
        where = f"{key}[{i}]"
        try:
            if "-" in text:
                first, last = (ipaddress.ip_address(t.strip()) for t in text.split("-", 1))
                if first.version != last.version:
                    raise ValueError("mixes IPv4 and IPv6")
                if int(first) > int(last):
                    raise ValueError("ends before it starts")
                lo, hi, version = int(first), int(last), first.version
            else:
                net = ipaddress.ip_network(text.strip(), strict=False)
                lo, hi, version = int(net.network_address), int(net.broadcast_address), net.version
        except ValueError as e:
            raise f.error(where, f"{text!r} is not a CIDR or an address range: {e}") from None
        if version == 4:
            out.append((lo, hi))
    return tuple(out)


# PyYAML and the parsers are imported where pools are read from the input: a model read back
# from the cache holds pools and needs only the class.

def _from_crd(o: Other) -> AddressPool:
    from podnet.model.parse import label_selector

    spec = Fields(o.body, o.source).sub("spec")
    if not spec.str_list("addresses"):
        raise spec.error("addresses", "is required (a list of CIDRs or ranges)")
    alloc = spec.sub("serviceAllocation")
    namespaces = alloc.str_list("namespaces")
    ns_selectors = tuple(s for f in alloc.items("namespaceSelectors")
                         if (s := label_selector(f)) is not None)
    svc_selectors = tuple(s for f in alloc.items("serviceSelectors")
                          if (s := label_selector(f)) is not None)
    present = spec.has("serviceAllocation")
    # MetalLB refuses the whole configuration over a repeated entry (validateDuplicate)
    shown: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("namespaces", namespaces),
        ("namespaceSelectors", tuple(s.describe() for s in ns_selectors)),
        ("serviceSelectors", tuple(s.describe() for s in svc_selectors)))
    for key, values in shown:
        twice = next((v for i, v in enumerate(values) if v in values[:i]), None)
        if twice is not None:
            raise alloc.error(key, f"{twice!r} is listed twice; MetalLB refuses the configuration")
    if present and not (namespaces or ns_selectors or svc_selectors):
        # MetalLB's config (addressPoolServiceAllocationsFromCR) reads a serviceAllocation that
        # names no namespace and no selector, e.g. only a priority, as "every Service"
        svc_selectors = (EVERYTHING,)
    return AddressPool(
        name=o.name, ranges=_ranges(spec, "addresses"), source=o.source.object(),
        auto_assign=spec.bool("autoAssign", True), avoid_buggy_ips=spec.bool("avoidBuggyIPs"),
        priority=alloc.int("priority"), namespaces=namespaces,
        namespace_selectors=ns_selectors, service_selectors=svc_selectors, allocation=present)


def _from_configmap(o: Other) -> list[AddressPool]:
    import yaml

    data = Fields(o.body, o.source).sub("data")
    try:
        conf = yaml.safe_load(data.str("config") or "{}") or {}
    except yaml.YAMLError as e:
        raise data.error("config", f"invalid YAML: {e}") from None
    f = Fields(conf, o.source, "data.config")
    pools = []
    for p in f.items("address-pools"):
        name = p.str("name")
        if not name:
            raise p.error("name", "is required")
        pools.append(AddressPool(name=name, ranges=_ranges(p, "addresses"), source=o.source.object(),
                                 auto_assign=p.bool("auto-assign", True),
                                 avoid_buggy_ips=p.bool("avoid-buggy-ips")))
    return pools


def read_pools(others: Iterable[Other]) -> tuple[AddressPool, ...]:
    """Every pool declared in the input, sorted by name; names must be unique."""
    pools: dict[str, AddressPool] = {}
    for o in others:
        if o.kind == "IPAddressPool":
            found = [_from_crd(o)]
        elif o.kind == "ConfigMap" and (o.namespace, o.name) == LEGACY_CONFIGMAP:
            found = _from_configmap(o)
        else:
            continue
        for pool in found:
            if pool.name in pools:
                raise InputError(o.source, "metadata.name" if o.kind == "IPAddressPool"
                                 else "data.config", f"address pool {pool.name!r} is also "
                                 f"declared in {pools[pool.name].source}")
            pools[pool.name] = pool
    return tuple(pools[n] for n in sorted(pools))
