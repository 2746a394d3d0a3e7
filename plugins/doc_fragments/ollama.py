# -*- coding: utf-8 -*-
# Copyright: llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Base URL of the Ollama HTTP API.
      - When neither O(api_url) nor O(service) is set, the E(OLLAMA_HOST) environment variable is used
        (Ollama's own convention), else V(http://127.0.0.1:11434).
      - A bare V(host) or V(host:port) means plain HTTP and port 11434, like E(OLLAMA_HOST);
        V(http://host) without a port means port 80 and V(https://host) port 443.
      - A path after the host is kept, for Ollama behind a reverse proxy under a prefix.
      - Mutually exclusive with O(service).
    type: str
  headers:
    description:
      - Extra HTTP headers sent with every request, for example authentication required by a proxy in front
        of Ollama.
      - With O(service) they are added after the Kubernetes credentials, so an C(Authorization) header here
        replaces the API server token.
    type: dict
  validate_certs:
    description:
      - Verify TLS certificates of O(api_url) (default V(true)) or, with O(service), of the Kubernetes API
        server (default from the kubeconfig).
    type: bool
  ca_cert:
    description:
      - CA bundle used to verify O(api_url) or, with O(service), the Kubernetes API server.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Client certificate for mutual TLS with O(api_url) or the Kubernetes API server.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Key of O(client_cert).
    type: path
    aliases: [key_file]
  request_timeout:
    description:
      - Seconds to wait for an answer to a single non-streaming request (list, show, delete, preload).
    type: float
    default: 30
  service:
    description:
      - Reach Ollama through the Kubernetes API server service proxy
        (C(/api/v1/namespaces/{namespace}/services/{name}:{port}/proxy/)) instead of O(api_url).
      - For Ollama pods in private subnets that AWX or a laptop cannot reach directly; only the API server
        must be reachable.
      - Credentials come from O(kubeconfig), O(context), O(host), O(api_key), O(username), O(password),
        O(ca_cert), O(client_cert), O(client_key) and O(validate_certs), resolved like C(kubernetes.core)
        (kubeconfig, then in-cluster service account).
      - Requires the C(kubernetes) Python library; the RBAC subject needs C(get) on C(services/proxy).
    type: dict
    suboptions:
      namespace:
        description: Namespace of the Ollama service.
        type: str
        required: true
      name:
        description: Name of the Ollama service.
        type: str
        required: true
      port:
        description: Service port number or port name.
        type: str
        default: "11434"
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig content as a dictionary. Only used with O(service).
      - Defaults to E(K8S_AUTH_KUBECONFIG), then E(KUBECONFIG) or C(~/.kube/config), then in-cluster config.
    type: raw
  context:
    description:
      - Kubeconfig context to use with O(service). Defaults to E(K8S_AUTH_CONTEXT), then the current context.
    type: str
  host:
    description:
      - Kubernetes API server URL, overriding the kubeconfig. Only used with O(service).
      - Defaults to E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the Kubernetes API server. Only used with O(service). Defaults to E(K8S_AUTH_API_KEY).
    type: str
  username:
    description:
      - Username for basic authentication to the Kubernetes API server. Only used with O(service).
    type: str
  password:
    description:
      - Password for basic authentication to the Kubernetes API server. Only used with O(service).
    type: str
requirements:
  - kubernetes >= 24.2.0 (only when O(service) is used)
notes:
  - All modules of this family belong to the C(llm_saas.platform.ollama) action group, so connection options
    can be set once with C(module_defaults).
"""
