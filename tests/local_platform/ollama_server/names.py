"""Model name parsing the way Ollama does it (``[host/][namespace/]model[:tag]``).

Kept independent from the collection's module_utils on purpose: the emulator is
the reference the modules are tested against, so sharing the parser would let a
bug in one hide in the other.
"""

import re

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$")
_HOST = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}$")


class InvalidName(ValueError):
    pass


def parse(name):
    """Return (host, namespace, model, tag) or raise InvalidName."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidName("invalid model name")
    raw = name.strip()
    for scheme in ("https://", "http://"):
        if raw.startswith(scheme):
            raw = raw[len(scheme):]
    tag = DEFAULT_TAG
    slash = raw.rfind("/")
    colon = raw.rfind(":")
    if colon > slash:
        raw, tag = raw[:colon], raw[colon + 1:]
    parts = raw.split("/")
    if len(parts) == 1:
        host, namespace, model = DEFAULT_HOST, DEFAULT_NAMESPACE, parts[0]
    elif len(parts) == 2:
        host, (namespace, model) = DEFAULT_HOST, parts
    elif len(parts) == 3:
        host, namespace, model = parts
    else:
        raise InvalidName("invalid model name")
    if not (_HOST.match(host) and _PART.match(namespace) and _PART.match(model) and _PART.match(tag)):
        raise InvalidName("invalid model name")
    if "." in namespace:
        raise InvalidName("invalid model name")
    return host, namespace, model, tag


def canonical(name):
    return "/".join(parse(name)[:3]) + ":" + parse(name)[3]


def key(name):
    """Case-insensitive identity, as upstream compares names with EqualFold."""
    return canonical(name).lower()


def display(name):
    """Shortest form, like upstream's DisplayShortest (what /api/tags shows)."""
    host, namespace, model, tag = parse(name)
    if host.lower() == DEFAULT_HOST:
        if namespace.lower() == DEFAULT_NAMESPACE:
            return "%s:%s" % (model, tag)
        return "%s/%s:%s" % (namespace, model, tag)
    return "%s/%s/%s:%s" % (host, namespace, model, tag)
