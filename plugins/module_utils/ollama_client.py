# -*- coding: utf-8 -*-
# Copyright: llm_saas platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP client for the Ollama API: name normalisation, NDJSON streaming, retries.

Stdlib plus ansible.module_utils.urls only, so plain-HTTP use needs no extra
Python library on the target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import re
import socket
import time

from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible.module_utils.urls import open_url

DEFAULT_API_URL = "http://127.0.0.1:11434"
DEFAULT_REGISTRY = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

# A progress line is ~200 bytes; anything near this is not Ollama talking.
MAX_LINE_BYTES = 1024 * 1024
READ_CHUNK = 64 * 1024
STATUS_HISTORY = 12
MAX_BACKOFF = 300.0

_PART_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$")
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,79}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}$")
_RETRYABLE_STATUS = (429, 502, 503, 504)


class OllamaError(Exception):
    """Failure talking to Ollama; ``retryable`` marks transport-level problems."""

    retryable = False

    def __init__(self, message, status=None, body=None):
        super(OllamaError, self).__init__(message)
        self.message = message
        self.status = status
        self.body = body


class OllamaConnectionError(OllamaError):
    retryable = True


class StreamInterrupted(OllamaError):
    retryable = True


class OllamaTimeout(OllamaError):
    pass


class InvalidModelName(ValueError):
    pass


class ModelName(object):
    """``[registry/][namespace/]model[:tag]`` parsed with Ollama's defaults and rules."""

    def __init__(self, registry, namespace, model, tag):
        self.registry = registry
        self.namespace = namespace
        self.model = model
        self.tag = tag

    @classmethod
    def parse(cls, name):
        if not isinstance(name, str) or not name.strip():
            raise InvalidModelName("name must be a non-empty string such as 'llama3:8b'")
        raw = name.strip()
        if any(ch.isspace() for ch in raw):
            raise InvalidModelName("name %r contains whitespace" % name)
        for scheme in ("https://", "http://"):
            if raw.startswith(scheme):
                raw = raw[len(scheme):]
        if "@" in raw:
            raise InvalidModelName("name %r: digest references (@sha256:...) are not supported, use a tag" % name)
        tag = DEFAULT_TAG
        slash = raw.rfind("/")
        colon = raw.rfind(":")
        if colon > slash:
            raw, tag = raw[:colon], raw[colon + 1:]
        parts = raw.split("/")
        if len(parts) == 1:
            registry, namespace, model = DEFAULT_REGISTRY, DEFAULT_NAMESPACE, parts[0]
        elif len(parts) == 2:
            registry, namespace, model = DEFAULT_REGISTRY, parts[0], parts[1]
        elif len(parts) == 3:
            registry, namespace, model = parts
        else:
            raise InvalidModelName(
                "name %r has too many '/' parts; expected [registry/][namespace/]model[:tag]" % name)
        checks = (
            ("registry", registry, _HOST_RE, 350),
            ("namespace", namespace, _NAMESPACE_RE, 80),
            ("model", model, _PART_RE, 80),
            ("tag", tag, _PART_RE, 80),
        )
        for label, value, pattern, limit in checks:
            if not pattern.match(value):
                raise InvalidModelName(
                    "name %r: invalid %s %r; use 1-%d letters, digits, '_', '-'%s, starting with a letter, "
                    "digit or '_' (format [registry/][namespace/]model[:tag])"
                    % (name, label, value, limit, "" if label == "namespace" else " or '.'"))
        return cls(registry, namespace, model, tag)

    @property
    def canonical(self):
        return "%s/%s/%s:%s" % (self.registry, self.namespace, self.model, self.tag)

    @property
    def key(self):
        # Ollama compares names case-insensitively.
        return self.canonical.lower()

    @property
    def display(self):
        """Shortest form, which is how Ollama lists models in /api/tags."""
        if self.registry.lower() == DEFAULT_REGISTRY:
            if self.namespace.lower() == DEFAULT_NAMESPACE:
                return "%s:%s" % (self.model, self.tag)
            return "%s/%s:%s" % (self.namespace, self.model, self.tag)
        return self.canonical

    def __eq__(self, other):
        return isinstance(other, ModelName) and self.key == other.key

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return "ModelName(%r)" % self.canonical


def normalize_name(name):
    return ModelName.parse(name).display


def normalize_api_url(value):
    """Apply Ollama's OLLAMA_HOST conventions: bare ``host[:port]`` means http and port 11434."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_API_URL
    if "://" in text:
        scheme, rest = text.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError("api_url %r: scheme must be http or https" % value)
        default_port = "443" if scheme == "https" else "80"
    else:
        scheme, rest, default_port = "http", text, "11434"
    hostport, _sep, path = rest.partition("/")
    if hostport.startswith("["):
        end = hostport.find("]")
        host, port = hostport[:end + 1], hostport[end + 2:] if len(hostport) > end + 1 else ""
    elif hostport.count(":") == 1:
        host, port = hostport.split(":")
    else:
        host, port = hostport, ""
    host = host or "127.0.0.1"
    port = port or default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("api_url %r: port must be a number between 1 and 65535" % value)
    base = "%s://%s:%s" % (scheme, host, port)
    path = path.strip("/")
    return base + ("/" + path if path else "")


def iter_ndjson(response, max_line=MAX_LINE_BYTES, chunk_size=READ_CHUNK):
    """Yield one decoded object per line of an NDJSON body, holding at most one line.

    A truncated body (connection closed before the final chunk) raises
    StreamInterrupted; readline() on http.client responses would hide that.
    """
    read = getattr(response, "read1", None) or response.read
    pending = bytearray()
    while True:
        truncated = None
        try:
            chunk = read(chunk_size)
        except http_client.IncompleteRead as exc:
            chunk, truncated = exc.partial, exc
        except (socket.timeout, http_client.HTTPException, OSError) as exc:
            raise StreamInterrupted("connection dropped mid-stream: %s" % _describe(exc)) from exc
        if chunk:
            pending.extend(chunk)
            start = 0
            while True:
                newline = pending.find(b"\n", start)
                if newline < 0:
                    break
                line = bytes(pending[start:newline]).strip()
                start = newline + 1
                if line:
                    yield _decode_line(line)
            del pending[:start]
            if len(pending) > max_line:
                raise OllamaError("stream line longer than %d bytes; is api_url really an Ollama server?" % max_line)
        if truncated is not None:
            raise StreamInterrupted("connection dropped mid-stream: %s" % _describe(truncated))
        if not chunk:
            break
    tail = bytes(pending).strip()
    if tail:
        yield _decode_line(tail)


def _decode_line(line):
    try:
        obj = json.loads(line.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise OllamaError("invalid JSON line in stream: %r" % line[:200]) from None
    if not isinstance(obj, dict):
        raise OllamaError("unexpected JSON line in stream: %r" % line[:200])
    return obj


def _describe(exc):
    if isinstance(exc, http_client.IncompleteRead):
        return "incomplete chunked body (%d bytes of the last read)" % len(exc.partial or b"")
    text = str(exc) or exc.__class__.__name__
    return "%s: %s" % (exc.__class__.__name__, text) if exc.__class__.__name__ not in text else text


class PullProgress(object):
    """Folds a pull stream into its last few distinct statuses; memory is bounded."""

    def __init__(self, history=STATUS_HISTORY):
        self.statuses = collections.deque(maxlen=history)
        self.lines = 0
        self.success = False
        self.layers = {}

    def feed(self, obj):
        self.lines += 1
        if "error" in obj:
            raise OllamaError(str(obj["error"]), body=obj)
        status = obj.get("status")
        if not status:
            return
        if not self.statuses or self.statuses[-1] != status:
            self.statuses.append(status)
        digest = obj.get("digest")
        if digest and len(self.layers) < 64:
            self.layers[digest] = {"total": obj.get("total"), "completed": obj.get("completed", 0)}
        if status == "success":
            self.success = True

    def consume(self, objects):
        for obj in objects:
            self.feed(obj)
        if not self.success:
            raise StreamInterrupted("stream ended before 'success' (last status: %s)" % self.last_status)
        return self

    @property
    def last_status(self):
        return self.statuses[-1] if self.statuses else "none"


def backoff_delays(retries, retry_delay, cap=MAX_BACKOFF):
    """Exponential backoff: retry_delay, 2x, 4x ... capped."""
    return [min(cap, float(retry_delay) * (2 ** attempt)) for attempt in range(retries)]


def call_with_retries(operation, retries, retry_delay, deadline, describe, *, sleep=time.sleep, clock=time.monotonic,
                      on_retry=None):
    """Run ``operation`` until it succeeds, a non-retryable error occurs, retries run out or the deadline passes."""
    delays = backoff_delays(retries, retry_delay)
    attempt = 0
    while True:
        attempt += 1
        try:
            return operation()
        except OllamaError as exc:
            if not exc.retryable:
                raise
            if attempt > len(delays):
                raise OllamaError(
                    "%s failed after %d attempt(s) (retries=%d): %s. Ollama keeps partially downloaded "
                    "layers, so re-running resumes; raise 'retries'/'retry_delay' for flaky links."
                    % (describe, attempt, retries, exc.message)) from exc
            wait = delays[attempt - 1]
            remaining = deadline - clock()
            if remaining <= wait:
                raise OllamaTimeout("%s: no time left for retry %d within 'timeout' (last error: %s)"
                                    % (describe, attempt, exc.message)) from exc
            if on_retry is not None:
                on_retry(attempt, wait, exc)
            sleep(wait)


class OllamaClient(object):
    """Talks to one Ollama endpoint, directly or through a Kubernetes service proxy."""

    def __init__(self, base_url, *, headers=None, validate_certs=True, ca_path=None, client_cert=None,
                 client_key=None, request_timeout=30.0, target=None, retries=3, retry_delay=1.0,
                 sleep=time.sleep):
        self.base_url = base_url.rstrip("/")
        # Reads (GET, /api/show) are retried on 429/502/503/504 and API server 500s (service proxy);
        # pull has its own resume-aware retries, writes are never repeated blindly.
        self.retries = max(0, int(retries))
        self.retry_delay = max(0.0, float(retry_delay))
        self._sleep = sleep
        self.headers = dict(headers or {})
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.request_timeout = float(request_timeout)
        self.target = target or self.base_url

    def _open(self, method, path, body=None, timeout=None):
        headers = {"Accept": "application/json, application/x-ndjson"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        headers.update(self.headers)
        try:
            return open_url(self.base_url + path, data=data, method=method, headers=headers,
                            timeout=timeout or self.request_timeout, validate_certs=self.validate_certs,
                            ca_path=self.ca_path, client_cert=self.client_cert, client_key=self.client_key,
                            follow_redirects="safe", use_netrc=False)
        except HTTPError as exc:
            raise self._http_error(method, path, exc) from exc
        except (URLError, socket.timeout, http_client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OllamaConnectionError("cannot reach Ollama at %s (%s %s): %s"
                                        % (self.target, method, path, _describe(reason)
                                           if isinstance(reason, Exception) else reason)) from exc

    def _http_error(self, method, path, exc):
        try:
            raw = exc.read()
        except Exception:  # pylint: disable=broad-except
            raw = b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except (ValueError, UnicodeDecodeError):
            body = {}
        if not isinstance(body, dict):
            body = {}
        if body.get("kind") == "Status":
            # The Kubernetes API server (service proxy) answered, not Ollama.
            message = ("Kubernetes API server refused the service proxy request to %s (HTTP %s %s): %s"
                       % (self.target, exc.code, body.get("reason", ""), body.get("message", "")))
        elif "error" in body:
            message = "Ollama at %s answered HTTP %s to %s %s: %s" % (
                self.target, exc.code, method, path, body["error"])
        else:
            snippet = raw[:200].decode("utf-8", "replace").strip() if raw else ""
            message = "HTTP %s from %s for %s %s%s" % (exc.code, self.target, method, path,
                                                       (": " + snippet) if snippet else "")
        # A Kubernetes Status 500 is the API server failing (e.g. etcd hiccup), not Ollama: retryable.
        retryable = exc.code in _RETRYABLE_STATUS or (body.get("kind") == "Status" and exc.code == 500)
        error_cls = OllamaConnectionError if retryable else OllamaError
        return error_cls(message, status=exc.code, body=body)

    def request_json(self, method, path, body=None):
        delays = backoff_delays(self.retries, self.retry_delay) if (method == "GET" or path == "/api/show") else []
        attempt = 0
        while True:
            try:
                return self._request_json_once(method, path, body)
            except OllamaError as exc:
                # Only answers (429, 5xx from a proxy or the API server) are retried here; a refused
                # connection is usually a wrong api_url and fails at once, as before.
                if not exc.retryable or exc.status is None or attempt >= len(delays):
                    if exc.retryable and exc.status is not None and delays:
                        exc.message = "%s (after %d attempt(s))" % (exc.message, attempt + 1)
                        exc.args = (exc.message,)
                    raise
                self._sleep(delays[attempt])
                attempt += 1

    def _request_json_once(self, method, path, body=None):
        resp = self._open(method, path, body)
        try:
            raw = resp.read()
        except (socket.timeout, http_client.HTTPException, OSError) as exc:
            raise OllamaConnectionError("reading %s %s from %s failed: %s" % (method, path, self.target,
                                                                              _describe(exc))) from exc
        finally:
            resp.close()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise OllamaError("%s %s on %s did not return JSON (is this an Ollama endpoint?): %r"
                              % (method, path, self.target, raw[:200])) from None

    def version(self):
        return self.request_json("GET", "/api/version").get("version")

    def list_models(self):
        models = self.request_json("GET", "/api/tags").get("models")
        return models if isinstance(models, list) else []

    def running_models(self):
        models = self.request_json("GET", "/api/ps").get("models")
        return models if isinstance(models, list) else []

    def show(self, name):
        return self.request_json("POST", "/api/show", {"model": name})

    def delete(self, name):
        """Delete a model; False when Ollama says it does not exist."""
        try:
            self.request_json("DELETE", "/api/delete", {"model": name})
        except OllamaError as exc:
            if exc.status == 404 and "error" in (exc.body or {}):
                return False
            raise
        return True

    def load(self, name, keep_alive):
        """Load a model into memory: an empty generate request, as Ollama documents."""
        body = {"model": name, "prompt": "", "stream": False}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        return self.request_json("POST", "/api/generate", body)

    def pull(self, name, *, insecure=False, retries=3, retry_delay=5.0, timeout=14400.0, idle_timeout=300.0,
             sleep=time.sleep, clock=time.monotonic, on_retry=None):
        """Pull with resume-on-retry; returns the PullProgress of the successful attempt."""
        deadline = clock() + float(timeout)
        describe = "pull of %r from %s" % (name, self.target)

        def attempt():
            remaining = deadline - clock()
            if remaining <= 0:
                raise OllamaTimeout("%s did not finish within timeout=%ss" % (describe, timeout))
            body = {"model": name, "stream": True}
            if insecure:
                body["insecure"] = True
            resp = self._open("POST", "/api/pull", body, timeout=min(float(idle_timeout), remaining))
            progress = PullProgress()
            try:
                for obj in iter_ndjson(resp):
                    progress.feed(obj)
                    if clock() > deadline:
                        raise OllamaTimeout("%s did not finish within timeout=%ss (last status: %s)"
                                            % (describe, timeout, progress.last_status))
            except StreamInterrupted as exc:
                raise StreamInterrupted("%s (last status: %s)" % (exc.message, progress.last_status)) from exc
            except OllamaError as exc:
                if exc.body is not None and "error" in exc.body:
                    raise OllamaError("Ollama at %s failed to pull %r: %s" % (self.target, name, exc.message),
                                      body=exc.body) from exc
                raise
            finally:
                resp.close()
            if not progress.success:
                raise StreamInterrupted("stream ended before 'success' (last status: %s)" % progress.last_status)
            return progress

        return call_with_retries(attempt, retries, retry_delay, deadline, describe, sleep=sleep, clock=clock,
                                 on_retry=on_retry)


def service_proxy_path(namespace, name, port):
    """API server path that proxies to a Service port (``port`` may be a number or a port name)."""
    return "/api/v1/namespaces/%s/services/%s:%s/proxy" % (
        quote(str(namespace), safe=""), quote(str(name), safe=""), quote(str(port), safe=""))


def find_model(models, model_name):
    """Return the /api/tags entry matching a ModelName, or None."""
    for entry in models:
        raw = entry.get("name") or entry.get("model") or ""
        try:
            if ModelName.parse(raw).key == model_name.key:
                return entry
        except InvalidModelName:
            continue
    return None
