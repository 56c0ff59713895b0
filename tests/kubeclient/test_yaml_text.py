"""Kubeconfig YAML through libyaml reads and writes what PyYAML's safe loader and dumper do."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kubeclient import yaml_text

# What kubeconfigs fleetform renders hold: names, URLs, base64, tokens and ASCII JSON (printable ASCII; libyaml
# escapes control and astral characters differently, and writes empty keys differently, so those are left out).
ascii_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), ascii_text, st.floats(allow_nan=False))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ascii_text.filter(bool), inner, max_size=4),
    max_leaves=20,
)
documents = st.dictionaries(ascii_text.filter(bool), values, max_size=6)  # a kubeconfig is a mapping


@given(documents)
def test_it_writes_what_pyyamls_safe_dumper_writes_and_reads_what_its_safe_loader_reads(document):
    text = yaml_text.dump(document)
    assert text == yaml.safe_dump(document, sort_keys=False)  # kubeconfigs kept in state do not change
    assert yaml_text.load(text) == yaml.safe_load(text) == yaml.safe_load(yaml.safe_dump(document, sort_keys=False))


def test_libyaml_does_the_work_where_pyyaml_has_it():
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML without libyaml: the pure-Python classes stand in")
    assert yaml_text.load.__globals__["_LOADER"] is yaml.CSafeLoader
    assert yaml_text.dump.__globals__["_DUMPER"] is yaml.CSafeDumper
