"""The lab's namespace names are injective: no two labs, nodes or pods can share one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from podnet import names

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
subdomain = st.lists(label, min_size=1, max_size=3).map(".".join)
lab = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


def every_name(lab_: str, nodes: list[str], pods: list[tuple[str, str]]) -> dict[str, object]:
    out: dict[str, object] = {names.fabric_netns(lab_): (lab_, "fabric"),
                              names.external_netns(lab_): (lab_, "external")}
    out.update({names.node_netns(lab_, n): (lab_, "node", n) for n in nodes})
    out.update({names.pod_netns(lab_, ns, p): (lab_, "pod", ns, p) for ns, p in pods})
    return out


def test_the_collisions_reported_in_issue_11_are_gone():
    # lab `rel-n`'s fabric against lab `rel`'s node `n-fabric` / `fabric`
    assert names.fabric_netns("rel-n") not in {names.node_netns("rel", "fabric"),
                                               names.node_netns("rel", "n-fabric")}
    assert names.pod_netns("x", "a-b", "c") != names.pod_netns("x", "a", "b-c")
    assert names.lab_prefix("rel") != names.lab_prefix("rel-n")[:len(names.lab_prefix("rel"))]


@given(labs=st.lists(lab, min_size=1, max_size=3, unique=True),
       nodes=st.lists(subdomain, max_size=4, unique=True),
       pods=st.lists(st.tuples(label, subdomain), max_size=6, unique=True))
def test_names_are_injective_and_carry_their_lab_prefix(labs, nodes, pods):
    seen: dict[str, object] = {}
    for lab_ in labs:
        for name, what in every_name(lab_, nodes, pods).items():
            assert name not in seen, f"{what} and {seen[name]} share {name}"
            seen[name] = what
            assert name.startswith(names.lab_prefix(lab_))
            # and no other lab's prefix claims it
            assert not any(name.startswith(names.lab_prefix(o)) for o in labs if o != lab_)


def test_long_names_are_hashed_to_a_bounded_length():
    long_pod = "p" * 253
    a = names.pod_netns("lab", "ns", long_pod)
    b = names.pod_netns("lab", "ns", long_pod[:-1] + "q")
    assert len(a) <= names.NETNS_MAX and a != b and a.startswith(names.lab_prefix("lab"))
    assert len(names.node_netns("lab", "n" * 253)) <= names.NETNS_MAX


def test_lab_names_that_could_leave_the_state_root_are_refused():
    for bad in ("../x", "/x", ".", "..", "a/b", "a_b", "", "x\n", "A", "-x", "toolongname123"):
        assert names.lab_name_error(bad), bad
    assert names.lab_name_error("rel-n") is None
