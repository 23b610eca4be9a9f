"""Rules parsed back from the text podnet renders, and a packet walked through them."""

from podnet.netfilter.ipt_parse import Rule, Ruleset, parse_restore
from podnet.netfilter.trace import Outcome, trace_packet

__all__ = ["Outcome", "Rule", "Ruleset", "parse_restore", "trace_packet"]
