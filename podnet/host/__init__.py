"""The second edge (the lab is the first): read-only checks of the machine podnet runs on
(/proc/sys, interfaces, conntrack counters) and the etcd disk test (fdatasync latencies, a real
etcd started and stopped). Nothing here changes the machine beyond temporary files it creates
and removes; what the numbers mean is decided in ``podnet.doctor``."""
