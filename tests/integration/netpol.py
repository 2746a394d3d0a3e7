"""A small evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1).

It answers "may endpoint X open a connection to endpoint Y on port P/protocol?" over a set of
NetworkPolicy objects, the way a conforming CNI must decide it:

* a pod is isolated for a direction when at least one policy in its namespace selects it
  (``spec.podSelector``) and lists that direction in ``policyTypes`` (absent ``policyTypes``
  means ``[Ingress]``, plus ``Egress`` when the policy has an ``egress`` section);
* a pod not isolated for a direction allows everything in that direction;
* an isolated pod allows a connection when any rule of any policy selecting it matches both the
  peer and the port (rules are a union; an absent/empty ``to``/``from`` matches every peer, an
  absent/empty ``ports`` every port);
* a connection between two pods needs the source's egress *and* the destination's ingress.

Peers: ``podSelector`` alone selects pods in the policy's own namespace; ``namespaceSelector``
alone every pod in the matching namespaces; both together the pods matching the pod selector in
the matching namespaces; ``ipBlock`` matches the peer's IP when inside ``cidr`` and outside every
``except``. Endpoints outside the cluster (``Endpoint(ip=...)`` without a namespace) are matched
only by ``ipBlock``. The specification leaves open whether an ``ipBlock`` also matches pod IPs;
this evaluator lets it match them, the more permissive reading, so a "denied" answer holds for
every implementation.

Ports: ``port`` as a number or a named container port of the destination pod, optional
``endPort`` for ranges, ``protocol`` defaulting to TCP.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace set) or an address outside the cluster (namespace None)."""

    ip: str
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    # Named container ports of the pod: {"http": 8080}.
    named_ports: Mapping[str, int] = field(default_factory=dict)
    name: str = ""

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None

    def __hash__(self) -> int:
        return hash((self.ip, self.namespace, self.name))


def selector_matches(selector: Mapping | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics: every matchLabels pair and every expression must hold."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown label selector operator {op!r}")
    return True


def _policy_types(policy: Mapping) -> list[str]:
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


class Cluster:
    """Namespaces (name -> labels) and the NetworkPolicies in force."""

    def __init__(self, namespaces: Mapping[str, Mapping[str, str]], policies: Iterable[Mapping]):
        # The API server labels every namespace with its name; selectors rely on that.
        self.namespaces = {name: {"kubernetes.io/metadata.name": name, **labels} for name, labels in namespaces.items()}
        self.policies = list(policies)

    def _selecting(self, pod: Endpoint, direction: str) -> list[Mapping]:
        if not pod.is_pod:
            return []
        return [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and direction in _policy_types(p)
            and selector_matches((p.get("spec") or {}).get("podSelector") or {}, pod.labels)
        ]

    def _peer_matches(self, peer: Mapping, policy_ns: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            block = peer["ipBlock"]
            addr = ipaddress.ip_address(other.ip)
            if addr not in ipaddress.ip_network(block["cidr"], strict=False):
                return False
            return not any(addr in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])
        if not other.is_pod:
            return False
        ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
        if ns_sel is None and pod_sel is None:
            raise ValueError(f"peer without selector or ipBlock: {peer!r}")
        if ns_sel is None:
            in_ns = other.namespace == policy_ns
        else:
            in_ns = selector_matches(ns_sel, self.namespaces.get(other.namespace, {}))
        return in_ns and (pod_sel is None or selector_matches(pod_sel, other.labels))

    @staticmethod
    def _port_matches(rule_port: Mapping, dest: Endpoint, port: int, protocol: str) -> bool:
        if rule_port.get("protocol", "TCP") != protocol:
            return False
        if "port" not in rule_port:
            return True
        wanted = rule_port["port"]
        if isinstance(wanted, str) and not wanted.isdigit():
            return dest.named_ports.get(wanted) == port
        low = int(wanted)
        return low <= port <= int(rule_port.get("endPort", low))

    def _allowed(
        self, pod: Endpoint, peer: Endpoint, dest: Endpoint, port: int, *, protocol: str, direction: str
    ) -> bool:
        policies = self._selecting(pod, direction)
        if not policies:
            return True
        key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        for policy in policies:
            for rule in (policy.get("spec") or {}).get(key) or []:
                peers = rule.get(peers_key) or []
                ports = rule.get("ports") or []
                if peers and not any(self._peer_matches(p, policy["metadata"]["namespace"], peer) for p in peers):
                    continue
                if ports and not any(self._port_matches(rp, dest, port, protocol) for rp in ports):
                    continue
                return True
        return False

    def egress_allows(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return self._allowed(src, dst, dst, port, protocol=protocol, direction="Egress")

    def ingress_allows(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return self._allowed(dst, src, dst, port, protocol=protocol, direction="Ingress")

    def can_reach(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        """Both ends must agree: the source's egress and the destination's ingress."""
        return self.egress_allows(src, dst, port, protocol) and self.ingress_allows(src, dst, port, protocol)

    def reachable_ports(self, src: Endpoint, dst: Endpoint, ports: Iterable[int], protocol: str = "TCP") -> list[int]:
        return [p for p in ports if self.can_reach(src, dst, p, protocol)]

    def candidate_ports(self, endpoints: Iterable[Endpoint] = ()) -> list[int]:
        """Ports that represent every port for a "denied on any port" proof.

        A rule allows a port either because it lists it (number, range bound, or a named port
        resolved on a pod) or because it lists no ports at all. Every listed number, every range
        bound and every named port's number is a candidate, and one port no rule mentions stands for
        all the others (only port-less rules can allow it, and they allow every port alike).
        Ports strictly inside a range behave like its bounds.
        """
        ports: set[int] = set()
        for policy in self.policies:
            spec = policy.get("spec") or {}
            for rule in (spec.get("ingress") or []) + (spec.get("egress") or []):
                for rule_port in rule.get("ports") or []:
                    value = rule_port.get("port")
                    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
                        ports.add(int(value))
                    if "endPort" in rule_port:
                        ports.add(int(rule_port["endPort"]))
        for endpoint in endpoints:
            ports.update(endpoint.named_ports.values())
        unmentioned = next(p for p in range(1, 65536) if p not in ports)
        return sorted(ports | {unmentioned})
