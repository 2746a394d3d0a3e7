# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: image_ref
short_description: Build a container image reference from a registry/repository/tag dict
version_added: 0.1.0
description:
  - Every role keeps its images as dicts with C(registry), C(repository), C(tag) and optional C(digest)
    so that air-gapped installs can point each image (or all of them) at a mirror.
  - This filter is the single place that turns such a dict into C(registry/repository:tag[@digest]).
  - A non-empty O(registry_override) wins over the dict's own registry; roles pass the product-wide
    C(platform_image_registry) here.
options:
  _input:
    description: Image dict with keys C(registry), C(repository), C(tag) and optionally C(digest).
    type: dict
    required: true
  registry_override:
    description: Registry that replaces the dict's registry when non-empty.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Render the device plugin image
  ansible.builtin.debug:
    msg: "{{ image | llm_saas.platform.image_ref }}"
  vars:
    image: {registry: nvcr.io, repository: nvidia/k8s-device-plugin, tag: v0.17.4}
  # -> nvcr.io/nvidia/k8s-device-plugin:v0.17.4

- name: Same image through an ECR mirror
  ansible.builtin.debug:
    msg: "{{ gpu_device_plugin_image | llm_saas.platform.image_ref(platform_image_registry | default('')) }}"
"""

RETURN = r"""
_value:
  description: The image reference.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types


def image_ref(image, registry_override=""):
    if not isinstance(image, dict):
        raise AnsibleFilterError(
            "image_ref expects a dict with registry, repository and tag; got %s. "
            "Define the image as {registry: ..., repository: ..., tag: ...}." % type(image).__name__
        )
    missing = [key for key in ("repository", "tag") if not image.get(key)]
    if missing:
        raise AnsibleFilterError(
            "image_ref: image %r lacks %s; pin every image with an explicit tag."
            % (image, ", ".join(missing))
        )
    if registry_override is not None and not isinstance(registry_override, string_types):
        raise AnsibleFilterError("image_ref: registry_override must be a string")
    registry = to_text(registry_override or image.get("registry") or "").rstrip("/")
    ref = "%s:%s" % (to_text(image["repository"]).strip("/"), to_text(image["tag"]))
    if registry:
        ref = "%s/%s" % (registry, ref)
    if image.get("digest"):
        ref = "%s@%s" % (ref, to_text(image["digest"]))
    return ref


class FilterModule(object):
    def filters(self):
        return {"image_ref": image_ref}
