# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse Kubernetes resource quantities so preflight can compare quotas with what a tier needs."""

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_quantity
short_description: Convert a Kubernetes resource quantity to a number
version_added: 0.1.0
description:
  - Converts a quantity such as C(500m), C(2), C(1.5Gi) or C(64G) to a float (cores for CPU, bytes for memory).
  - No maintained filter parses the Kubernetes quantity grammar; preflight needs it to prove that a
    tenant's quota covers what its tier requests before anything is changed.
options:
  _input:
    description: The quantity (string or number).
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Compare a memory quota with a request
  ansible.builtin.assert:
    that: "'64Gi' | llm_saas.platform.k8s_quantity >= '8Gi' | llm_saas.platform.k8s_quantity"
"""

RETURN = r"""
_value:
  description: The quantity as a float, in base units (cores or bytes).
  type: float
"""

import re

from ansible.errors import AnsibleFilterError

_SUFFIXES = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")


def k8s_quantity(value):
    """Return the quantity in base units."""
    if isinstance(value, bool):
        raise AnsibleFilterError(f"k8s_quantity: {value!r} is not a Kubernetes quantity")
    if isinstance(value, (int, float)):
        return float(value)
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise AnsibleFilterError(
            f"k8s_quantity: {value!r} is not a Kubernetes quantity (examples: 500m, 2, 8Gi, 64G)"
        )
    number, suffix = match.groups()
    return float(number) * _SUFFIXES[suffix or ""]


def k8s_minimum(workload, request_key):
    """What a workload requests at its minimum replica count: replicas_min x the named request."""
    return int(workload.get("replicas_min", 0)) * k8s_quantity(workload.get(request_key, 0))


class FilterModule:
    """Kubernetes quantity filters."""

    def filters(self):
        return {"k8s_quantity": k8s_quantity, "k8s_minimum": k8s_minimum}
