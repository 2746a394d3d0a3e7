"""The NetworkPolicy evaluator (tests/integration/netpol.py) on small hand-written policies.

The tenant isolation proof rests on this evaluator, so each semantic rule it implements is pinned
here by at least one case that must come out "denied" and one that must come out "allowed".
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from netpol import Cluster, Endpoint, selector_matches


def policy(name: str, namespace: str, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}

web_a = Endpoint("10.0.11.10", "a", {"app": "web"}, name="web-a")
db_a = Endpoint("10.0.11.11", "a", {"app": "db"}, {"pg": 5432}, name="db-a")
web_b = Endpoint("10.0.12.10", "b", {"app": "web"}, name="web-b")
internet = Endpoint("93.184.216.34")
alb = Endpoint("10.0.1.5")


def test_no_policy_means_everything_is_allowed():
    cluster = Cluster({"a": {}, "b": {}}, [])
    assert cluster.can_reach(web_a, web_b, 1234)
    assert cluster.can_reach(web_a, internet, 443)


def test_default_deny_denies_both_directions_and_every_port():
    cluster = Cluster({"a": {}, "b": {}}, [policy("deny", "a", DENY_ALL)])
    assert not cluster.can_reach(web_a, db_a, 5432)
    assert not cluster.can_reach(web_a, web_b, 80)
    # b is not isolated itself, but a's ingress is.
    assert not cluster.can_reach(web_b, web_a, 80)
    assert not cluster.can_reach(web_a, internet, 443)
    # Pods of an unselected namespace stay open.
    assert cluster.can_reach(web_b, internet, 443)


def test_both_egress_of_source_and_ingress_of_destination_are_needed():
    allow_egress = policy("egress", "a", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
                                          "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}]})
    cluster = Cluster({"a": {}}, [policy("deny", "a", DENY_ALL), allow_egress])
    assert cluster.egress_allows(web_a, db_a, 5432)
    assert not cluster.ingress_allows(web_a, db_a, 5432)
    assert not cluster.can_reach(web_a, db_a, 5432)
    allow_ingress = policy("ingress", "a", {"podSelector": {"matchLabels": {"app": "db"}},
                                            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                                         "ports": [{"port": 5432}]}]})
    cluster = Cluster({"a": {}}, [policy("deny", "a", DENY_ALL), allow_egress, allow_ingress])
    assert cluster.can_reach(web_a, db_a, 5432)
    assert not cluster.can_reach(web_a, db_a, 5433)
    assert not cluster.can_reach(web_a, db_a, 5432, "UDP")
    assert not cluster.can_reach(db_a, web_a, 5432)


def test_pod_selector_alone_stays_in_the_policy_namespace():
    from_web = [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]
    allow = policy("from-web", "a", {"podSelector": {}, "ingress": from_web})
    cluster = Cluster({"a": {}, "b": {}}, [allow])
    assert cluster.can_reach(web_a, db_a, 5432)
    # Same labels, other namespace: not selected.
    assert not cluster.can_reach(web_b, db_a, 5432)


def test_namespace_selector_alone_and_together_with_a_pod_selector():
    from_team_b = [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}]
    only_ns = policy("ns", "a", {"podSelector": {}, "ingress": from_team_b})
    cluster = Cluster({"a": {}, "b": {"team": "b"}}, [only_ns])
    assert cluster.can_reach(web_b, db_a, 5432)
    assert not cluster.can_reach(web_a, db_a, 5432)

    both = policy("both", "a", {"podSelector": {}, "ingress": [{"from": [{
        "namespaceSelector": {"matchLabels": {"team": "b"}}, "podSelector": {"matchLabels": {"app": "db"}}}]}]})
    cluster = Cluster({"a": {}, "b": {"team": "b"}}, [both])
    assert not cluster.can_reach(web_b, db_a, 5432), "AND of both selectors: web pod does not match app=db"
    db_b = Endpoint("10.0.12.11", "b", {"app": "db"})
    assert cluster.can_reach(db_b, db_a, 5432)


def test_namespace_selector_uses_the_automatic_name_label():
    by_name = policy("by-name", "a", {"podSelector": {}, "ingress": [{"from": [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}}]}]})
    cluster = Cluster({"a": {}, "b": {}}, [by_name])
    assert cluster.can_reach(web_b, web_a, 80)


def test_ip_block_with_except():
    egress = policy("egress", "a", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}], "ports": [{"port": 443}]}]})
    cluster = Cluster({"a": {}}, [egress])
    assert cluster.can_reach(web_a, internet, 443)
    assert not cluster.can_reach(web_a, internet, 80)
    assert not cluster.can_reach(web_a, Endpoint("10.0.21.5"), 443), "inside an except range"
    assert not cluster.can_reach(web_a, web_b, 443), "pod IP inside the except range"


def test_ip_block_is_the_only_peer_that_matches_external_addresses():
    ingress = policy("ingress", "a", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [
        {"from": [{"namespaceSelector": {}}]}]})
    cluster = Cluster({"a": {}}, [ingress])
    assert not cluster.can_reach(alb, web_a, 8080), "namespaceSelector {} means all pods, not the world"
    assert cluster.can_reach(web_b, web_a, 8080)
    ingress["spec"]["ingress"].append({"from": [{"ipBlock": {"cidr": "10.0.1.0/24"}}], "ports": [{"port": 8080}]})
    assert Cluster({"a": {}}, [ingress]).can_reach(alb, web_a, 8080)


def test_empty_rule_matches_everything_and_empty_rule_list_nothing():
    open_rule = policy("open", "a", {"podSelector": {}, "ingress": [{}]})
    assert Cluster({"a": {}}, [open_rule]).can_reach(internet, web_a, 22)
    no_rules = policy("closed", "a", {"podSelector": {}, "ingress": []})
    assert not Cluster({"a": {}}, [no_rules]).can_reach(internet, web_a, 22)


def test_policy_types_default_from_the_spec():
    # No policyTypes and no egress section: ingress-only, egress stays open.
    ingress_only = policy("i", "a", {"podSelector": {}, "ingress": []})
    cluster = Cluster({"a": {}}, [ingress_only])
    assert cluster.egress_allows(web_a, internet, 443)
    assert not cluster.ingress_allows(internet, web_a, 443)
    # An egress section without policyTypes isolates egress too.
    with_egress = policy("e", "a", {"podSelector": {}, "egress": []})
    assert not Cluster({"a": {}}, [with_egress]).egress_allows(web_a, internet, 443)


def test_policies_add_up():
    allow_dns = policy("dns", "a", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]})
    allow_https = policy("https", "a", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
                                        "egress": [{"ports": [{"port": 443}]}]})
    cluster = Cluster({"a": {}}, [policy("deny", "a", DENY_ALL), allow_dns, allow_https])
    assert cluster.egress_allows(web_a, internet, 53, "UDP")
    assert cluster.egress_allows(web_a, internet, 443)
    assert not cluster.egress_allows(db_a, internet, 443), "the https policy does not select db"
    assert cluster.egress_allows(db_a, internet, 53, "UDP")


def test_port_ranges_and_named_ports():
    ranged = policy("r", "a", {"podSelector": {}, "ingress": [{"ports": [{"port": 8000, "endPort": 8100}]}]})
    cluster = Cluster({"a": {}}, [ranged])
    assert cluster.can_reach(web_b, web_a, 8050)
    assert not cluster.can_reach(web_b, web_a, 8101)
    named = policy("n", "a", {"podSelector": {}, "ingress": [{"ports": [{"port": "pg"}]}]})
    cluster = Cluster({"a": {}}, [named])
    assert cluster.can_reach(web_b, db_a, 5432)
    assert not cluster.can_reach(web_b, db_a, 5433)
    assert not cluster.can_reach(web_b, web_a, 5432), "web_a has no port named pg"


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ({}, {"a": "1"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
    (None, {"a": "1"}, False),
])
def test_label_selectors(selector, labels, expected):
    assert selector_matches(selector, labels) is expected


def test_unknown_operator_is_an_error_not_a_silent_match():
    with pytest.raises(ValueError, match="operator"):
        selector_matches({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, {"a": "2"})


def test_candidate_ports_cover_listed_ports_range_bounds_named_ports_and_one_other():
    listed = policy("l", "a", {"podSelector": {}, "ingress": [
        {"ports": [{"port": 8000, "endPort": 8100}, {"port": "pg"}, {"port": "53", "protocol": "UDP"}]}]})
    ports = Cluster({"a": {}}, [listed]).candidate_ports([db_a])
    assert {8000, 8100, 5432, 53} <= set(ports)
    assert len(ports) == 5, "one port no rule mentions stands for all the others"


def test_any_port_proof_catches_a_portless_rule_even_when_no_port_is_listed():
    portless = policy("portless", "a", {"podSelector": {}, "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}}]}]})
    cluster = Cluster({"a": {}, "b": {}}, [policy("deny", "a", DENY_ALL), portless])
    assert cluster.reachable_ports(web_b, web_a, cluster.candidate_ports()) != []
    assert cluster.reachable_ports(db_a, web_a, cluster.candidate_ports()) == []
