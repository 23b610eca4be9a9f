"""Render kube-proxy's iptables ruleset for 10,000 services x 10 endpoints (target < 1 s)."""

from __future__ import annotations

import time

from podnet.services import IptablesOptions, render_iptables
from podnet.services.resolve import EndpointPlan, ServicePlan


def plans(services: int, endpoints: int) -> tuple[ServicePlan, ...]:
    out = []
    for s in range(services):
        eps = tuple(EndpointPlan(f"10.{(s * endpoints + e) // 65536 % 256}."
                                 f"{(s * endpoints + e) // 256 % 256}.{(s * endpoints + e) % 256}",
                                 8080, f"node-{e % 10}") for e in range(endpoints))
        out.append(ServicePlan(f"ns-{s // 100}", f"svc-{s}", "http", "TCP", 80,
                               f"172.{16 + s // 65536}.{s // 256 % 256}.{s % 256}", "ClusterIP",
                               None, (), (), (), None, False, False, None, eps))
    return tuple(out)


def main() -> None:
    ps = plans(10_000, 10)
    t0 = time.perf_counter()
    text = render_iptables(ps, IptablesOptions("node-1", "10.0.0.0/8"))
    took = time.perf_counter() - t0
    print(f"| iptables render, 10,000 services x 10 endpoints | {took:.2f} s | "
          f"{text.count(chr(10)):,} lines | < 1 s |")


if __name__ == "__main__":
    main()
