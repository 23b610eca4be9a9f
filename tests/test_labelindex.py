from hypothesis import given, settings
from hypothesis import strategies as st

from podnet.model.selectors import Requirement, selector
from podnet.policy.labelindex import LabelIndex

keys = st.sampled_from(["a", "b", "c"])
vals = st.sampled_from(["", "x", "y"])
labelmaps = st.dictionaries(keys, vals, max_size=3)
reqs = st.builds(lambda k, op, vs: Requirement(k, op, tuple(vs) if op in ("In", "NotIn") else ()),
                 keys, st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]),
                 st.lists(vals, min_size=1, max_size=2))
selectors = st.builds(lambda ml, ex: selector(ml, tuple(ex)),
                      st.dictionaries(keys, vals, max_size=2), st.lists(reqs, max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(labelmaps, min_size=1, max_size=8), selectors)
def test_vectorised_selector_equals_reference(items, sel):
    index = LabelIndex(items)
    assert index.match(sel).tolist() == [sel.matches(i) for i in items]
