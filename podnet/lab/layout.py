"""Which namespaces a cluster's lab has, known from the cluster alone: `lab up` starts making
them before the plan is built (the plan builder's imports and work, ~0.2 s for 200 pods,
overlap the kernel's ~0.2 s of making them). ``build_plan`` creates exactly these, in this
order (tests/test_lab_plan.py holds the two together)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podnet import names
from podnet.errors import LabPrerequisiteError
from podnet.model.vocabulary import LAB_CNI_MODES

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster


def check_cni(mode: str) -> None:
    if mode not in LAB_CNI_MODES:
        raise LabPrerequisiteError(
            f"the lab builds --cni {', '.join(LAB_CNI_MODES)} so far; {mode!r} is modelled by "
            f"the analyzer but not built by the lab (pass --cni {' or '.join(LAB_CNI_MODES)})")


def namespaces(cluster: Cluster, lab: str) -> list[str]:
    """The fabric, every node, every pod that is not on its node's network, the outside."""
    return [names.fabric_netns(lab), *(names.node_netns(lab, n.name) for n in cluster.nodes),
            *(names.pod_netns(lab, p.namespace, p.name) for p in cluster.pods if not p.host_network),
            names.external_netns(lab)]
