import pytest

from podnet.model.selectors import Requirement, selector


@pytest.mark.parametrize("op,values,labels,expected", [
    ("In", ("a",), {"k": "a"}, True),
    ("In", ("a",), {}, False),
    ("NotIn", ("a",), {}, True),  # apimachinery: absent key satisfies NotIn
    ("NotIn", ("a",), {"k": "a"}, False),
    ("NotIn", ("a",), {"k": "b"}, True),
    ("Exists", (), {"k": ""}, True),
    ("Exists", (), {}, False),
    ("DoesNotExist", (), {}, True),
    ("DoesNotExist", (), {"k": "x"}, False),
])
def test_requirement_corners(op, values, labels, expected):
    assert Requirement("k", op, values).matches(labels) is expected


def test_match_labels_empty_value_needs_the_key():
    sel = selector({"k": ""})
    assert sel.matches({"k": ""})
    assert not sel.matches({})


def test_empty_selector_matches_everything_and_is_canonical():
    assert selector().matches({"x": "y"})
    assert selector({"b": "1", "a": "2"}) == selector({"a": "2", "b": "1"})
