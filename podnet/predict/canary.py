"""A weighted canary checked by counting: N requests to a location whose canary takes a share
p of requests (``canary-weight``), and the number the canary's pods answer held against the
binomial law Bin(N, p) the prediction implies.

The bound is exact, not a normal approximation: the accepted counts are the smallest interval
[low, high] whose tails P(X < low) and P(X > high) are each at most ALPHA / 2, so a faithful
nginx fails the check with probability at most ALPHA (one in a million), and a split off by
more than a few points fails it almost surely (at N = 400, p = 0.3: 120 expected, 77..166
accepted; a 50 % split, 200 expected, lands far outside)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from podnet.analysis import Analysis
from podnet.ingress.request import request
from podnet.ingress.routes import DEFAULT_SERVER, Table
from podnet.predict.ingress import _PLAIN_PATH, _concrete, entry, outcome

ALPHA = 1e-6
REQUESTS = 400


def binomial_bounds(n: int, p: float, alpha: float = ALPHA) -> tuple[int, int]:
    """[low, high]: P(X < low) <= alpha/2 and P(X > high) <= alpha/2 for X ~ Bin(n, p)."""
    pmf = [math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)]
    low, tail = 0, 0.0
    while low < n and tail + pmf[low] <= alpha / 2:
        tail += pmf[low]
        low += 1
    high, tail = n, 0.0
    while high > 0 and tail + pmf[high] <= alpha / 2:
        tail += pmf[high]
        high -= 1
    return low, high


@dataclass(frozen=True, slots=True)
class CanarySplit:
    controller: str
    url: str
    connect: tuple[str, int]
    share: float  # the canary's predicted share of these requests
    canary_pods: frozenset[str]
    main_pods: frozenset[str]
    requests: int
    low: int
    high: int
    client_cert: str | None = None

    def agrees(self, answered_by: list[str | None]) -> bool:
        """Every request answered by a pod of either side, the canary's count within bounds."""
        if len(answered_by) != self.requests or any(
                p not in self.canary_pods | self.main_pods for p in answered_by):
            return False
        return self.low <= sum(p in self.canary_pods for p in answered_by) <= self.high


def canary_splits(a: Analysis, table: Table, source: str, requests: int = REQUESTS
                  ) -> list[CanarySplit]:
    """One split per location a plain request reaches with a canary share strictly between
    none and all (``podnet http`` gives the share as ``canary.probability``)."""
    where = entry(a, table.controller)
    if where is None:
        return []
    out = []
    for s in sorted(table.servers.values(), key=lambda s: s.host):
        if s.host == DEFAULT_SERVER:
            continue
        scheme = "https" if s.tls is not None else "http"
        cert = "probe-client" if s.auth_tls is not None else None
        for loc in s.locations:
            if loc.canary is None or not _PLAIN_PATH.fullmatch(loc.ingress_path or "-"):
                continue
            url = f"{scheme}://{_concrete(s.host)}{loc.ingress_path}"
            o = outcome(a, table, request(url, client_cert=cert, source=source))
            share = float(o.canary["probability"]) if o.canary is not None else 0.0
            if o.status != 200 or o.backend is None or o.canary is None or not 0 < share < 1:
                continue

            def pods(endpoints: list[str]) -> frozenset[str]:
                return frozenset(p.key for e in endpoints
                                 if (p := a.cluster.pod_by_ip(e.rpartition(":")[0])))
            main = pods([e for e in o.backend.endpoints if e not in o.unreachable])
            low, high = binomial_bounds(requests, share)
            out.append(CanarySplit(table.controller.key, url, where[scheme], share,
                                   pods(list(o.canary["endpoints"])), main, requests, low,
                                   high, cert))
    return out
