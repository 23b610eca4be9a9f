"""MetalLB's allocator tables (metallb/metallb internal/allocator/allocator_test.go), replayed as
manifests: each step of a table becomes the end state podnet reads (a request, or an address in
status), since podnet sees one snapshot, not a history of calls. IPv4 only: podnet's Services
are IPv4, so the IPv6 and dual-stack halves of the tables have no counterpart."""

from __future__ import annotations

import pytest

from tests.test_metallb import allocations, pool, svc

SHARE = {"metallb.io/allow-shared-ip": "share"}

# TestAssignment's pools (the IPv4 halves)
ASSIGNMENT = (
    pool("test", "1.2.3.4/31") + pool("test2", "1.2.4.0/24", buggy=True)
    + pool("test3", "1.2.5.0/24", buggy=True, allocation={"namespaces": ["test-ns1"]})
    + pool("test4", "1.2.6.0/24", buggy=True,
           allocation={"serviceSelectors": [{"matchLabels": {"team": "metallb"}}]})
    + pool("test5", "1.2.7.0/24", buggy=True,
           allocation={"priority": 20, "namespaces": ["test-ns1"],
                       "serviceSelectors": [{"matchLabels": {"team": "metallb"}}]})
    + pool("test6", "1.2.8.0/24", buggy=True,
           allocation={"priority": 20, "namespaces": ["test-ns2"],
                       "serviceSelectors": [{"matchLabels": {"foo": "bar"}}]}))


@pytest.mark.parametrize("desc,services,want", [
    ("assign s1", svc("s1", lb_ip="1.2.3.4"), {"web/s1": "1.2.3.4"}),
    ("s1 idempotent reassign", svc("s1", lb_ip="1.2.3.4", status=("1.2.3.4",)),
     {"web/s1": "1.2.3.4"}),
    ("s2 can't grab s1's IP", svc("s1", lb_ip="1.2.3.4") + svc("s2", lb_ip="1.2.3.4"),
     {"web/s1": "1.2.3.4", "web/s2": ""}),
    ("s2 can get the other IP", svc("s1", lb_ip="1.2.3.4") + svc("s2", lb_ip="1.2.3.5"),
     {"web/s1": "1.2.3.4", "web/s2": "1.2.3.5"}),
    ("s3 cannot grab a 0 buggy IP", svc("s3", lb_ip="1.2.4.0"), {"web/s3": ""}),
    ("s3 cannot grab a 255 buggy IP", svc("s3", lb_ip="1.2.4.255"), {"web/s3": ""}),
    ("s3 can grab another IP in that pool", svc("s3", lb_ip="1.2.4.254"),
     {"web/s3": "1.2.4.254"}),
    ("s4 takes an IP, with sharing", svc("s4", lb_ip="1.2.4.3", annotations=SHARE),
     {"web/s4": "1.2.4.3"}),
    ("s3 can't share with s4 (port conflict)",
     svc("s4", lb_ip="1.2.4.3", annotations=SHARE)
     + svc("s5", lb_ip="1.2.4.3", annotations=SHARE), {"web/s4": "1.2.4.3", "web/s5": ""}),
    ("s3 can't share with s4 (wrong sharing key)",
     svc("s4", lb_ip="1.2.4.3", annotations=SHARE)
     + svc("s5", lb_ip="1.2.4.3", ports=("TCP/443",),
           annotations={"metallb.io/allow-shared-ip": "othershare"}),
     {"web/s4": "1.2.4.3", "web/s5": ""}),
    ("s3 can't share with s4 (wrong backend key)",
     svc("s4", lb_ip="1.2.4.3", annotations=SHARE, local=True, selector={"app": "backend"})
     + svc("s5", lb_ip="1.2.4.3", ports=("TCP/443",), annotations=SHARE, local=True,
           selector={"app": "otherbackend"}), {"web/s4": "1.2.4.3", "web/s5": ""}),
    ("s3 takes the same IP as s4",
     svc("s4", lb_ip="1.2.4.3", annotations=SHARE, local=True, selector={"app": "backend"})
     + svc("s5", lb_ip="1.2.4.3", ports=("TCP/443",), annotations=SHARE, local=True,
           selector={"app": "backend"}), {"web/s4": "1.2.4.3", "web/s5": "1.2.4.3"}),
    ("s3 can change its ports while keeping the same IP",
     svc("s4", status=("1.2.4.3",), annotations=SHARE)
     + svc("s5", status=("1.2.4.3",), ports=("UDP/53",), annotations=SHARE),
     {"web/s4": "1.2.4.3", "web/s5": "1.2.4.3"}),
    ("s3 can't change its sharing key while keeping the same IP",
     svc("s4", status=("1.2.4.3",), annotations=SHARE)
     + svc("s5", status=("1.2.4.3",), ports=("TCP/443",),
           annotations={"metallb.io/allow-shared-ip": "othershare"}),
     {"web/s4": "1.2.4.3", "web/s5": "1.2.3.4"}),  # cleared, then the first free address
    ("attempt to assign ip from pool pinned on same namespace",
     svc("s1", "test-ns1", lb_ip="1.2.5.10"), {"test-ns1/s1": "1.2.5.10"}),
    ("attempt to assign ip from pool pinned on different namespace",
     svc("s1", "testns-not-exist", lb_ip="1.2.5.10"), {"testns-not-exist/s1": ""}),
    ("attempt to assign ip from pool pinned with same service label",
     svc("s1", "testns-not-exist", lb_ip="1.2.6.10", labels={"team": "metallb"}),
     {"testns-not-exist/s1": "1.2.6.10"}),
    ("attempt to assign ip from pool pinned with different service label",
     svc("s1", "testns-not-exist", lb_ip="1.2.6.10", labels={"team": "red"}),
     {"testns-not-exist/s1": ""}),
    ("attempt to assign ip from pool pinned with namespace and service label",
     svc("s1", "test-ns1", lb_ip="1.2.7.10", labels={"team": "metallb"}),
     {"test-ns1/s1": "1.2.7.10"}),
    ("attempt to assign ip from pool pinned with namespace and incompatible service label",
     svc("s1", "test-ns2", lb_ip="1.2.8.10", labels={"team": "metallb"}),
     {"test-ns2/s1": ""}),
    ("attempt to assign ip from pool pinned with service label and incompatible namespace",
     svc("s1", "testns-not-exist", lb_ip="1.2.8.10", labels={"foo": "bar"}),
     {"testns-not-exist/s1": ""}),
])
def test_assignment(desc, services, want):
    """allocator_test.go TestAssignment, the case named by ``desc`` (s5 stands for the table's
    second use of s3, which podnet cannot replay on one Service)."""
    got = allocations(ASSIGNMENT + services)
    assert {k: ",".join(v[0]) for k, v in got.items()} == want, desc


def _six(**extra: object) -> str:
    return "".join(svc(f"s{i}", **extra) for i in range(1, 7))  # type: ignore[arg-type]


def test_pool_allocation():
    """allocator_test.go TestPoolAllocation, IPv4: four Services take pool test's four
    addresses ("s1..s4 gets an IPv4"), "s5 can't get an IPv4", "s6 can't get an IPv4", though
    other pools have room; then with sharing ("s5 enables IPv4 sharing", "s6 can get an IPv4
    now, with sharing") s5 and s6 share one address."""
    pools = (pool("not_this_one", "192.168.0.0/16") + pool("test", "1.2.3.4/31", "1.2.3.10/31")
             + pool("test2", "10.20.30.0/24"))
    ann = {"metallb.io/address-pool": "test"}
    got = allocations(pools + _six(annotations=ann))
    assert sorted(got[f"web/s{i}"][0][0] for i in range(1, 5)) == [
        "1.2.3.10", "1.2.3.11", "1.2.3.4", "1.2.3.5"]
    assert got["web/s5"][0] == got["web/s6"][0] == ()
    assert "annotated pool test has no free address" in got["web/s5"][1]
    got = allocations(pools + "".join(svc(f"s{i}", annotations=ann) for i in range(2, 5))
                      + svc("s5", annotations={**ann, **SHARE})
                      + svc("s6", ports=("TCP/443",), annotations={**ann, **SHARE}))
    assert got["web/s5"][0] == got["web/s6"][0] != ()


def test_allocation():
    """allocator_test.go TestAllocation, IPv4: with pool test1 1.2.3.4/31 and test2 1.2.3.10/31
    "s1..s4 gets an IPv4", "s5 can't get an IPv4"; "s6 can get an IPv4 with sharing" beside
    s5 ("s5 can now get an IPv4" with key share, ports tcp/80; s6 tcp/443)."""
    pools = pool("test1", "1.2.3.4/31") + pool("test2", "1.2.3.10/31")
    got = allocations(pools + _six())
    assert sorted(got[f"web/s{i}"][0][0] for i in range(1, 5)) == [
        "1.2.3.10", "1.2.3.11", "1.2.3.4", "1.2.3.5"]
    assert got["web/s5"][0] == got["web/s6"][0] == ()
    got = allocations(pools + "".join(svc(f"s{i}") for i in range(2, 5))
                      + svc("s5", annotations=SHARE)
                      + svc("s6", ports=("TCP/443",), annotations=SHARE))
    assert got["web/s5"][0] == got["web/s6"][0] != ()


def test_buggy_ips():
    """allocator_test.go TestBuggyIPs: six Services get addresses, none a .0 or .255 of a pool
    that avoids them; the seventh gets none."""
    pools = (pool("test", "1.2.3.0/31") + pool("test2", "1.2.3.254/31")
             + pool("test3", "1.2.4.0/31", buggy=True) + pool("test4", "1.2.4.254/31", buggy=True))
    got = allocations(pools + "".join(svc(f"s{i}") for i in range(1, 8)))
    given = [v[0] for v in got.values() if v[0]]
    assert len(given) == 6 and {ip for (ip,) in given} == {
        "1.2.3.0", "1.2.3.1", "1.2.3.254", "1.2.3.255", "1.2.4.1", "1.2.4.254"}


def test_auto_assign():
    """allocator_test.go TestAutoAssign, IPv4: pool test1 (autoAssign false) is never used,
    so s1 and s2 get test2's two addresses and s3..s5 none."""
    pools = pool("test1", "1.2.3.4/31", auto=False) + pool("test2", "1.2.3.10/31")
    got = allocations(pools + "".join(svc(f"s{i}") for i in range(1, 6)))
    assert {k: v[0] for k, v in got.items()} == {
        "web/s1": ("1.2.3.10",), "web/s2": ("1.2.3.11",), "web/s3": (), "web/s4": (),
        "web/s5": ()}


@pytest.mark.parametrize("desc,pools,want_ip,want_pool", [
    ("set same config is no-op", pool("test", "1.2.3.0/30"), "1.2.3.0", "test"),
    ("expand pool", pool("test", "1.2.3.0/24"), "1.2.3.0", "test"),
    ("can't shrink further, removing the service allocation", pool("test", "1.2.3.2/31"),
     "1.2.3.2", "test"),
    ("rename the pool", pool("test2", "1.2.3.0/30"), "1.2.3.0", "test2"),
    ("split pool", pool("test", "1.2.3.0/31") + pool("test2", "1.2.3.2/31"), "1.2.3.0", "test"),
    ("enable buggy IPs not allowed", pool("test2", "1.2.3.0/31", buggy=True), "1.2.3.1",
     "test2"),
])
def test_config_reload(desc, pools, want_ip, want_pool):
    """allocator_test.go TestConfigReload, IPv4: s1 holds 1.2.3.0 and the pools change under it;
    MetalLB keeps the address in whatever pool now holds it, or drops it (podnet's controller then
    allocates anew, as convergeBalancer would)."""
    (ips, origin), = allocations(pools + svc("s1", status=("1.2.3.0",))).values()
    assert ips == (want_ip,) and f"pool {want_pool}" in origin, desc
    assert origin.startswith("status") == (want_ip == "1.2.3.0"), desc
