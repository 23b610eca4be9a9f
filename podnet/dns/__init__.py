"""Cluster DNS: the zone the Kubernetes DNS spec defines, kubelet's resolv.conf, and the
glibc and musl search algorithms, as pure functions."""

from podnet.dns.records import Record, Zone, build_zone
from podnet.dns.resolvconf import ResolvConf, resolv_conf
from podnet.dns.resolver import Lookup, external_lookup, lookup
from podnet.dns.server import Answer, answer

__all__ = ["Answer", "Lookup", "Record", "ResolvConf", "Zone", "answer", "build_zone", "external_lookup",
           "lookup",
           "resolv_conf"]
