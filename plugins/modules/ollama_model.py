#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ollama_model
short_description: Pull, update or remove a model on an Ollama server
version_added: 0.1.0
description:
  - Makes sure a model is present, at the registry's latest digest, or absent on an Ollama server, using the
    Ollama HTTP API (no C(ollama) CLI on the target).
  - V(present) costs one C(GET /api/tags) when the model is already there.
  - Pulls read Ollama's NDJSON progress stream line by line, so memory does not grow with the stream. A pull only
    counts as done after Ollama's C(success) status; an C(error) line in the stream fails the task with Ollama's
    message.
  - A dropped connection is retried with exponential backoff (O(retries), O(retry_delay)); Ollama resumes partially
    downloaded layers, so a retry continues where the cut happened. O(timeout) bounds the whole pull.
  - Ollama is reached at O(api_url) or through the Kubernetes API server service proxy with O(service).
author:
  - llm_saas platform engineering (@llm-saas)
options:
  name:
    description:
      - Model reference C([registry/][namespace/]model[:tag]), for example V(llama3:8b), V(mistral) or
        V(registry.example.com/team/model:v2).
      - The tag defaults to V(latest) and the registry to V(registry.ollama.ai/library), as in Ollama, so V(llama3),
        V(llama3:latest) and V(registry.ollama.ai/library/llama3:latest) are the same model.
      - Validated before any request is sent.
    type: str
    required: true
    aliases: [model]
  state:
    description:
      - V(present) pulls the model only when it is missing.
      - V(latest) always pulls and reports a change only when the model's digest changed.
      - V(absent) deletes the model when it is installed.
    type: str
    choices: [present, latest, absent]
    default: present
  insecure:
    description:
      - Let Ollama pull from a registry over plain HTTP or with an unverified certificate (Ollama's C(insecure)).
    type: bool
    default: false
  retries:
    description:
      - How many times a pull is retried after the connection drops, the stream ends early or the server answers
        429, 502, 503 or 504. Errors reported by Ollama itself (unknown model, disk full) are not retried.
      - Reads (listing and showing models) are retried the same way; through the service proxy a Kubernetes API
        server error (HTTP 500 with a C(Status) body) counts as retryable too.
    type: int
    default: 3
  retry_delay:
    description:
      - Seconds before the first retry; each further retry waits twice as long (capped at 300 seconds).
    type: float
    default: 5
  timeout:
    description:
      - Upper bound in seconds for the whole pull including retries. The default allows a 40 GB model (70B
        parameters) on a slow link.
    type: float
    default: 14400
  idle_timeout:
    description:
      - Seconds without any progress line after which the pull connection counts as dropped (and is retried).
    type: float
    default: 300
  preload:
    description:
      - After the model is present, load it into memory with an empty generate request (Ollama's documented way to
        preload), so the first user request is not cold. Does not count as a change. Skipped in check mode.
    type: bool
    default: false
  keep_alive:
    description:
      - How long Ollama keeps the preloaded model in memory, in seconds or as a duration such as V(30m) or V(24h);
        V(-1) keeps it loaded until Ollama restarts. Only used with O(preload=true).
      - Defaults to Ollama's own setting (E(OLLAMA_KEEP_ALIVE), 5 minutes unless changed).
    type: str
extends_documentation_fragment:
  - llm_saas.platform.ollama
attributes:
  check_mode:
    support: full
    description:
      - Nothing is pulled, deleted or loaded. For O(state=latest) on an installed model, whether a newer digest
        exists can only be known by pulling, so check mode reports no change.
  diff_mode:
    support: full
    description: Shows the model list before and after.
seealso:
  - module: llm_saas.platform.ollama_model_info
  - name: Ollama API
    description: Ollama's HTTP API reference.
    link: https://github.com/ollama/ollama/blob/main/docs/api.md
"""

EXAMPLES = r"""
- name: Make sure llama3 8B is available to tenant-a
  llm_saas.platform.ollama_model:
    name: llama3:8b
    api_url: http://ollama.tenant-a.svc:11434

- name: Track the newest mistral and keep it warm for an hour
  llm_saas.platform.ollama_model:
    name: mistral
    state: latest
    preload: true
    keep_alive: 1h

- name: Remove a model nobody uses any more
  llm_saas.platform.ollama_model:
    name: gemma2:9b
    state: absent

- name: Pull through the Kubernetes API server (Ollama in a private subnet)
  llm_saas.platform.ollama_model:
    name: llama3:70b
    service:
      namespace: tenant-a
      name: ollama
      port: "11434"
    kubeconfig: ~/.kube/llm-platform
    context: prod
    retries: 5
    timeout: 21600

- name: Set the connection once for several models
  module_defaults:
    group/llm_saas.platform.ollama:
      api_url: "{{ ollama_url }}"
      headers:
        Authorization: "Bearer {{ ollama_proxy_token }}"
  block:
    - name: Embedding model for RAG
      llm_saas.platform.ollama_model:
        name: nomic-embed-text
    - name: Chat model
      llm_saas.platform.ollama_model:
        name: qwen2.5:7b
"""

RETURN = r"""
model:
  description:
    - The model after the task (for V(absent), as it was before deletion).
    - Details come from Ollama's model listing, which carries the same family / parameter size / quantization
      values as C(/api/show).
    - In check mode for a model that would be pulled, only RV(model.name) is known.
  returned: always
  type: dict
  contains:
    name:
      description: Normalised name as Ollama lists it.
      type: str
      sample: llama3:8b
    digest:
      description: Manifest digest (hex, without C(sha256:)).
      type: str
      sample: 365c0bd3c000a25d28ddbf732fe1c6add414de7275464c4e4d1c3b5fcb5d8ad1
    size:
      description: Size on disk in bytes.
      type: int
      sample: 4661224676
    modified_at:
      description: When the model was last pulled.
      type: str
    details:
      description: Format, family, families, parameter size and quantization level.
      type: dict
      sample:
        format: gguf
        family: llama
        families: [llama]
        parameter_size: 8.0B
        quantization_level: Q4_0
pull_status:
  description: The distinct statuses at the end of the pull stream (not the whole stream); empty when nothing was
    pulled.
  returned: always
  type: list
  elements: str
  sample: [pulling manifest, pulling 6a0746a1ec1a, verifying sha256 digest, writing manifest, success]
preloaded:
  description: Whether the model was loaded into memory.
  returned: when O(state) is not V(absent)
  type: bool
elapsed:
  description: Seconds the task took.
  returned: always
  type: float
target:
  description: The endpoint used (URL, or service and API server).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llm_saas.platform.plugins.module_utils.ollama_common import (
    OLLAMA_MUTUALLY_EXCLUSIVE,
    ollama_argument_spec,
    run_ollama_model,
)


def main():
    argument_spec = ollama_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True, aliases=["model"]),
        state=dict(type="str", default="present", choices=["present", "latest", "absent"]),
        insecure=dict(type="bool", default=False),
        retries=dict(type="int", default=3),
        retry_delay=dict(type="float", default=5.0),
        timeout=dict(type="float", default=14400.0),
        idle_timeout=dict(type="float", default=300.0),
        preload=dict(type="bool", default=False),
        keep_alive=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=OLLAMA_MUTUALLY_EXCLUSIVE,
                           supports_check_mode=True)
    run_ollama_model(module)


if __name__ == "__main__":
    main()
