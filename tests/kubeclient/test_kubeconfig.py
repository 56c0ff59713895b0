"""kubeclient's one kubeconfig parser: sources, contexts, namespaces and the errors for bad input."""

from __future__ import annotations

import pytest
import yaml

from kubeclient import Kubeconfig, KubeconfigError, render_token_kubeconfig, yaml_text

CONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {"name": "east", "cluster": {"server": "https://east:6443", "certificate-authority-data": "RUFTVA=="}},
        {"name": "west", "cluster": {"server": "https://west:6443"}},
    ],
    "users": [{"name": "admin", "user": {"token": "t0k3n"}}],
    "contexts": [
        {"name": "east-admin", "context": {"cluster": "east", "user": "admin", "namespace": "team-a"}},
        {"name": "west-anon", "context": {"cluster": "west"}},
    ],
    "current-context": "east-admin",
}


def test_current_context_with_its_cluster_user_and_namespace():
    context = Kubeconfig.load(yaml.safe_dump(CONFIG)).context()
    assert (context.name, context.server, context.ca_data) == ("east-admin", "https://east:6443", "RUFTVA==")
    assert context.user == {"token": "t0k3n"} and context.namespace == "team-a"


def test_a_named_context_overrides_the_current_one_and_defaults_its_namespace():
    context = Kubeconfig.load(CONFIG).context("west-anon")
    assert (context.server, context.ca_data, context.user, context.namespace) == (
        "https://west:6443",
        "",
        {},
        "default",
    )


def test_a_file_path_is_read(tmp_path):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(CONFIG))
    assert Kubeconfig.load(str(path)).context().server == "https://east:6443"
    assert Kubeconfig.load(path).context().server == "https://east:6443"


def test_the_only_context_is_used_when_none_is_current():
    single = {**CONFIG, "contexts": CONFIG["contexts"][1:], "current-context": ""}
    assert Kubeconfig.load(single).context().name == "west-anon"


def test_the_default_location_follows_KUBECONFIG(tmp_path, monkeypatch):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(CONFIG))
    monkeypatch.setenv("KUBECONFIG", f"{path}:{tmp_path / 'ignored'}")
    assert Kubeconfig.from_default_location().context().name == "east-admin"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("clusters: [unclosed", "member: the kubeconfig is not valid YAML"),
        ("- just\n- a list\n", "member: the kubeconfig is not a YAML mapping"),
        ({"apiVersion": "v1", "clusters": []}, "member: the kubeconfig names no cluster"),
    ],
)
def test_malformed_kubeconfigs_are_refused_by_name(source, message):
    with pytest.raises(KubeconfigError) as caught:
        Kubeconfig.load(source, "member")
    assert str(caught.value).startswith(message)


def test_unknown_or_ambiguous_contexts_are_refused():
    config = Kubeconfig.load(CONFIG, "member")
    with pytest.raises(
        KubeconfigError, match=r"member: the kubeconfig has no context 'north' \(contexts: east-admin, west-anon\)"
    ):
        config.context("north")
    with pytest.raises(KubeconfigError, match="no current-context; name one of its contexts"):
        Kubeconfig.load({**CONFIG, "current-context": ""}).context()
    dangling = {**CONFIG, "contexts": [{"name": "x", "context": {"cluster": "gone"}}], "current-context": "x"}
    with pytest.raises(KubeconfigError, match="context 'x' names cluster 'gone', which the kubeconfig lacks"):
        Kubeconfig.load(dangling).context()


def test_a_rendered_token_kubeconfig_parses_back_and_is_deterministic():
    text = render_token_kubeconfig("fleetform-a", "https://a:6443", "Q0E=", "secret-token")
    assert text == render_token_kubeconfig("fleetform-a", "https://a:6443", "Q0E=", "secret-token")
    context = Kubeconfig.load(text).context()
    assert (context.server, context.ca_data, context.user) == ("https://a:6443", "Q0E=", {"token": "secret-token"})


def test_a_text_is_parsed_once_and_a_bad_one_every_time(monkeypatch):
    parses: list[str] = []
    parse = yaml_text.load
    monkeypatch.setattr(yaml_text, "load", lambda text: parses.append(text) or parse(text))
    text = yaml.safe_dump({**CONFIG, "current-context": "west-anon"}) + f"# {id(parses)}\n"  # a text of its own
    first, again = Kubeconfig.load(text, "first"), Kubeconfig.load(text, "again")
    assert len(parses) == 1 and again.data == first.data and again.what == "again"
    assert again.context().name == "west-anon"
    for _ in range(2):
        with pytest.raises(KubeconfigError, match="not valid YAML"):
            Kubeconfig.load("clusters: [unclosed\n", "broken")
    assert len(parses) == 3
