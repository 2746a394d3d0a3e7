#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ollama_model_info
short_description: List the models installed and loaded on an Ollama server
version_added: 0.1.0
description:
  - Lists the models an Ollama server has (C(GET /api/tags)) and those currently loaded in memory (C(GET /api/ps)).
  - Talks to the Ollama HTTP API directly or through the Kubernetes API server service proxy; no C(ollama) CLI needed.
author:
  - llm_saas platform engineering (@llm-saas)
options:
  names:
    description:
      - Only report these models. Names are normalised like Ollama does (V(llama3) is V(llama3:latest)).
    type: list
    elements: str
    aliases: [name]
  details:
    description:
      - Also call C(POST /api/show) for every reported model and return its details, model info, parameters,
        template, capabilities and license under RV(models[].show).
    type: bool
    default: false
  running:
    description:
      - Also list the models loaded in memory (C(GET /api/ps)).
    type: bool
    default: true
extends_documentation_fragment:
  - llm_saas.platform.ollama
attributes:
  check_mode:
    support: full
    description: Read-only; runs normally in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
seealso:
  - module: llm_saas.platform.ollama_model
"""

EXAMPLES = r"""
- name: List models of a tenant's Ollama
  llm_saas.platform.ollama_model_info:
    api_url: http://ollama.tenant-a.svc:11434
  register: ollama

- name: Show what is loaded, through the Kubernetes API server
  llm_saas.platform.ollama_model_info:
    service:
      namespace: tenant-a
      name: ollama
    kubeconfig: ~/.kube/llm-platform
  register: ollama

- name: Details of one model
  llm_saas.platform.ollama_model_info:
    names: [llama3]
    details: true
  register: llama3_info
"""

RETURN = r"""
version:
  description: Ollama server version.
  returned: success
  type: str
  sample: 0.6.2
models:
  description: Installed models.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Model name as Ollama lists it.
      type: str
      sample: llama3:latest
    digest:
      description: Manifest digest (hex, without C(sha256:)).
      type: str
    size:
      description: Size on disk in bytes.
      type: int
    modified_at:
      description: When the model was last pulled or created.
      type: str
    details:
      description: Format, family, families, parameter size and quantization level.
      type: dict
    show:
      description: Output of C(/api/show) (details, model_info, parameters, template, capabilities, license).
      type: dict
      returned: O(details=true)
running:
  description: Models loaded in memory (C(/api/ps)).
  returned: O(running=true)
  type: list
  elements: dict
  contains:
    name:
      description: Model name.
      type: str
    expires_at:
      description: When Ollama unloads the model unless it is used again.
      type: str
    size_vram:
      description: Bytes of the model held in GPU memory.
      type: int
target:
  description: The endpoint that was queried (URL, or service and API server).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llm_saas.platform.plugins.module_utils.ollama_common import (
    OLLAMA_MUTUALLY_EXCLUSIVE,
    ollama_argument_spec,
    run_ollama_model_info,
)


def main():
    argument_spec = ollama_argument_spec()
    argument_spec.update(
        names=dict(type="list", elements="str", aliases=["name"]),
        details=dict(type="bool", default=False),
        running=dict(type="bool", default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=OLLAMA_MUTUALLY_EXCLUSIVE,
                           supports_check_mode=True)
    run_ollama_model_info(module)


if __name__ == "__main__":
    main()
