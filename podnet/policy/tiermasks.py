"""Admin tiers over connection bitmasks (``connmatrix``): one direction's [row, column, word]
array of what the NetworkPolicies allow becomes what the tiers let through.

Per connection the ANP rules are read in order (priority, then rule order) and the first that
matches decides; a Pass decides nothing final. Then
    allowed = anp_allow | (networkpolicy & ~anp_final & ~banp_deny)
where the BANP counts only for subjects no NetworkPolicy isolates in this direction (the
NetworkPolicy array there is all-allowed, so it is its only restriction).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from podnet.policy.matcher import ANP, BANP, Rule, TierTarget

ZERO = np.uint64(0)
# For a target and one of its rules: which rows and which columns it may match (bool), and
# the port mask it admits (one row of words, or one per row); None when it matches nothing.
Triple = tuple[np.ndarray, np.ndarray, np.ndarray]
Match = Callable[[TierTarget, Rule, bool], Triple | None]


def _tier(targets: Sequence[TierTarget], tier: str, match: Match, decided: np.ndarray,
          baseline: bool) -> tuple[np.ndarray, np.ndarray]:
    """(allowed, denied) by one tier's rules, each taking only what is still undecided."""
    decided = decided.copy()
    allow = np.zeros_like(decided)
    deny = np.zeros_like(decided)
    for t in targets:
        if t.tier != tier:
            continue
        for rule in t.rules:
            got = match(t, rule, baseline)
            if got is None:
                continue
            rows, cols, mask = got
            if not rows.any() or not cols.any():
                continue
            ports = mask[:, None, :] if mask.ndim == 2 else mask[None, None, :]
            new = np.where((rows[:, None] & cols[None, :])[..., None], ports, ZERO) & ~decided
            decided |= new
            if rule.action == "Allow":
                allow |= new
            elif rule.action == "Deny":
                deny |= new
    return allow, deny


def with_tiers(np_m: np.ndarray, targets: Sequence[TierTarget], match: Match) -> np.ndarray:
    """``match(t, rule, baseline)``: with ``baseline`` its subjects must leave out the classes
    a NetworkPolicy isolates."""
    anp_allow, anp_deny = _tier(targets, ANP, match, np.zeros_like(np_m), False)
    final = anp_allow | anp_deny
    _, banp_deny = _tier(targets, BANP, match, final, True)
    out: np.ndarray = anp_allow | (np_m & ~final & ~banp_deny)
    return out
