"""Rule selection by id, prefix, name, category and ALL; the more specific selector wins."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrdoctor.catalogue import Rule
from lrdoctor.errors import ConfigError
from lrdoctor.selection import select_rules


def rule(rid: str, name: str, category: str) -> Rule:
    return Rule(
        id=rid,
        name=name,
        category=category,
        severity="error",
        detector="x",
        requires=(),
        summary="",
        message="",
        recommendation="",
    )


RULES = [
    rule("LR001", "lr-too-high", "lr_too_high"),
    rule("LR002", "lr-too-low", "lr_too_low"),
    rule("NF001", "non-finite-loss", "non_finite"),
]


def ids(rules):
    return [r.id for r in rules]


@pytest.mark.parametrize(
    "select, ignore, extend, expected",
    [
        (None, (), (), ["LR001", "LR002", "NF001"]),
        (["LR"], (), (), ["LR001", "LR002"]),
        (["lr-too-low"], (), ("NF001",), ["LR002", "NF001"]),
        (["ALL"], ("non_finite",), (), ["LR001", "LR002"]),
        (["LR"], ("LR001",), (), ["LR002"]),
        (["LR001"], ("LR",), (), ["LR001"]),
        ([], (), (), []),
    ],
)
def test_selection(select, ignore, extend, expected):
    assert ids(select_rules(RULES, select, ignore, extend)) == expected


def test_unknown_selector_lists_valid_ones():
    with pytest.raises(ConfigError) as err:
        select_rules(RULES, ["QQ"])
    assert "'QQ'" in str(err.value) and "LR001" in str(err.value)


SELECTORS = st.sampled_from(
    ["ALL", "LR", "LR001", "LR002", "NF", "NF001", "lr-too-high", "non_finite", "lr_too_low"]
)


@given(
    st.lists(SELECTORS, max_size=3),
    st.lists(SELECTORS, max_size=3),
    st.lists(SELECTORS, max_size=3),
)
def test_selection_properties(select, ignore, extend):
    chosen = select_rules(RULES, select, ignore, extend)
    assert ids(chosen) == sorted(ids(chosen))  # catalogue order, no duplicates
    assert set(ids(chosen)) <= set(ids(select_rules(RULES, [*select, *extend])))
    if not ignore:  # ignoring nothing keeps exactly what select and extend-select pick
        assert chosen == select_rules(RULES, [*select, *extend])
    for r in RULES:  # an id named in ignore and nowhere else is always dropped
        if r.id in ignore and r.id not in select + extend:
            assert r not in chosen
