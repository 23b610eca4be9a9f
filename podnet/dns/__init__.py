"""Cluster DNS, as pure functions: the zone the Kubernetes DNS spec defines (``records``) and
its answers (``server``), kubelet's resolv.conf (``resolvconf``), the glibc and musl search
algorithms (``resolver``). The package itself imports nothing: the lab's DNS server needs only
the zone and the answers, not the model."""
