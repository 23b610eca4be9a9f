"""What the lab's kernel and tools offer the rules it loads: the analyzer predicts a lab with
these (kept apart from the plan, whose imports `lab probe` and `lab doctor` need not pay)."""

# The lab loads kube-proxy's rules for real: no nfacct counters, which need accounting objects
# kube-proxy creates through nfnetlink_acct (the lab creates none, and the kernel it is tested
# on has no such module); iptables' --random-fully it has.
LAB_IPTABLES_FEATURES = frozenset({"random-fully"})
