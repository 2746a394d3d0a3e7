"""Unit tests for the Ollama client: names, URLs, NDJSON reader, pull folding, retry/backoff."""

from __future__ import annotations

import http.client
import io
import os
import sys

import pytest

_COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".collections"))
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.llm_saas.platform.plugins.module_utils import ollama_client as oc  # noqa: E402


# ---------------------------------------------------------------- names
@pytest.mark.parametrize("raw, display, canonical", [
    ("llama3", "llama3:latest", "registry.ollama.ai/library/llama3:latest"),
    ("llama3:8b", "llama3:8b", "registry.ollama.ai/library/llama3:8b"),
    ("library/llama3:8b", "llama3:8b", "registry.ollama.ai/library/llama3:8b"),
    ("registry.ollama.ai/library/llama3", "llama3:latest", "registry.ollama.ai/library/llama3:latest"),
    ("https://registry.ollama.ai/library/llama3", "llama3:latest", "registry.ollama.ai/library/llama3:latest"),
    ("mattw/pygmalion", "mattw/pygmalion:latest", "registry.ollama.ai/mattw/pygmalion:latest"),
    ("reg.example.com:5000/team/model:v2.1", "reg.example.com:5000/team/model:v2.1",
     "reg.example.com:5000/team/model:v2.1"),
    ("llama3.1:8b-instruct-q4_K_M", "llama3.1:8b-instruct-q4_K_M",
     "registry.ollama.ai/library/llama3.1:8b-instruct-q4_K_M"),
])
def test_name_normalisation(raw, display, canonical):
    name = oc.ModelName.parse(raw)
    assert name.display == display
    assert name.canonical == canonical


def test_names_compare_case_insensitively_and_with_defaults():
    assert oc.ModelName.parse("LLaMA3") == oc.ModelName.parse("registry.ollama.ai/library/llama3:latest")
    assert oc.ModelName.parse("llama3:8b") != oc.ModelName.parse("llama3")


@pytest.mark.parametrize("raw, fragment", [
    ("", "non-empty"),
    ("   ", "non-empty"),
    ("a/b/c/d", "too many '/'"),
    ("llama3:", "invalid tag"),
    ("llama3:bad tag", "whitespace"),
    ("-llama", "invalid model"),
    ("my.ns/model", "invalid namespace"),
    ("llama3@sha256:abc", "digest references"),
    ("m" * 81, "invalid model"),
    ("llama3:" + "t" * 81, "invalid tag"),
])
def test_invalid_names_are_rejected_with_the_rule(raw, fragment):
    with pytest.raises(oc.InvalidModelName) as err:
        oc.ModelName.parse(raw)
    assert fragment in str(err.value)


def test_find_model_matches_normalised_names():
    models = [{"name": "mistral:7b"}, {"name": "llama3:latest", "digest": "d"}]
    assert oc.find_model(models, oc.ModelName.parse("registry.ollama.ai/library/llama3"))["digest"] == "d"
    assert oc.find_model(models, oc.ModelName.parse("llama3:8b")) is None


# ---------------------------------------------------------------- api_url
@pytest.mark.parametrize("raw, url", [
    (None, "http://127.0.0.1:11434"),
    ("", "http://127.0.0.1:11434"),
    ("ollama", "http://ollama:11434"),
    ("10.0.0.5:8080", "http://10.0.0.5:8080"),
    ("0.0.0.0", "http://0.0.0.0:11434"),  # noqa: S104 - a string under test, nothing binds
    ("http://ollama.svc", "http://ollama.svc:80"),
    ("https://ollama.example.com/", "https://ollama.example.com:443"),
    ("https://gw.example.com:8443/tenant-a/ollama/", "https://gw.example.com:8443/tenant-a/ollama"),
    ("[::1]:11434", "http://[::1]:11434"),
])
def test_api_url_normalisation(raw, url):
    assert oc.normalize_api_url(raw) == url


@pytest.mark.parametrize("raw", ["ftp://x", "host:notaport", "host:70000"])
def test_api_url_rejects_nonsense(raw):
    with pytest.raises(ValueError):
        oc.normalize_api_url(raw)


def test_service_proxy_path_quotes_parts():
    assert oc.service_proxy_path("tenant-a", "ollama", "11434") == \
        "/api/v1/namespaces/tenant-a/services/ollama:11434/proxy"
    assert oc.service_proxy_path("a", "b", "http") == "/api/v1/namespaces/a/services/b:http/proxy"


# ---------------------------------------------------------------- NDJSON reader
class Chunks:
    """A response whose read1() hands out fixed chunks, optionally ending truncated."""

    def __init__(self, chunks, truncated=False):
        self.chunks = list(chunks)
        self.truncated = truncated

    def read1(self, size):
        if self.chunks:
            return self.chunks.pop(0)
        if self.truncated:
            raise http.client.IncompleteRead(b'{"status":"pul')
        return b""


def test_reader_reassembles_lines_split_across_chunks():
    chunks = [b'{"status":"pulling manifest"}\n{"sta', b'tus":"pulling abc","total":5,', b'"completed":5}\n\n',
              b'{"status":"success"}']
    assert list(oc.iter_ndjson(Chunks(chunks))) == [
        {"status": "pulling manifest"}, {"status": "pulling abc", "total": 5, "completed": 5}, {"status": "success"}]


def test_reader_reports_a_truncated_body_after_the_complete_lines():
    seen = []
    with pytest.raises(oc.StreamInterrupted) as err:
        for obj in oc.iter_ndjson(Chunks([b'{"status":"a"}\n'], truncated=True)):
            seen.append(obj)
    assert seen == [{"status": "a"}]
    assert "connection dropped mid-stream" in err.value.message
    assert err.value.retryable


def test_reader_turns_socket_errors_into_retryable_interruptions():
    class Reset:
        def read1(self, size):
            raise ConnectionResetError(104, "Connection reset by peer")
    with pytest.raises(oc.StreamInterrupted) as err:
        list(oc.iter_ndjson(Reset()))
    assert "Connection reset by peer" in err.value.message


def test_reader_rejects_garbage_and_runaway_lines():
    with pytest.raises(oc.OllamaError) as err:
        list(oc.iter_ndjson(Chunks([b"<html>\n"])))
    assert "invalid JSON" in err.value.message
    with pytest.raises(oc.OllamaError) as err:
        list(oc.iter_ndjson(Chunks([b"x" * 100] * 20), max_line=1000))
    assert "longer than 1000 bytes" in err.value.message


def test_reader_works_with_plain_read():
    assert list(oc.iter_ndjson(io.BytesIO(b'{"a":1}\n{"b":2}\n'))) == [{"a": 1}, {"b": 2}]


# ---------------------------------------------------------------- pull folding
def test_progress_keeps_collapsed_final_statuses():
    lines = [{"status": "pulling manifest"}] + [
        {"status": "pulling abc", "digest": "sha256:abc", "total": 10, "completed": i} for i in range(10)] + [
        {"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
    progress = oc.PullProgress().consume(lines)
    assert list(progress.statuses) == ["pulling manifest", "pulling abc", "verifying sha256 digest",
                                       "writing manifest", "success"]
    assert progress.lines == len(lines)


def test_progress_history_is_bounded():
    progress = oc.PullProgress(history=3)
    for i in range(100):
        progress.feed({"status": "s%d" % i})
    assert list(progress.statuses) == ["s97", "s98", "s99"]


def test_progress_error_line_fails_with_ollamas_message():
    with pytest.raises(oc.OllamaError) as err:
        oc.PullProgress().consume([{"status": "pulling manifest"},
                                   {"error": "pull model manifest: file does not exist"}])
    assert err.value.message == "pull model manifest: file does not exist"
    assert not err.value.retryable


def test_progress_without_success_is_an_interruption():
    with pytest.raises(oc.StreamInterrupted) as err:
        oc.PullProgress().consume([{"status": "pulling manifest"}, {"status": "writing manifest"}])
    assert "before 'success'" in err.value.message and "writing manifest" in err.value.message


# ---------------------------------------------------------------- retries
class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_backoff_doubles_and_is_capped():
    assert oc.backoff_delays(4, 5) == [5.0, 10.0, 20.0, 40.0]
    assert oc.backoff_delays(3, 200) == [200.0, 300.0, 300.0]
    assert oc.backoff_delays(0, 5) == []


def test_retries_until_success_with_backoff():
    clock = FakeClock()
    calls = []

    def operation():
        calls.append(clock.now)
        if len(calls) < 3:
            raise oc.StreamInterrupted("cut")
        return "ok"

    retried = []
    result = oc.call_with_retries(operation, retries=3, retry_delay=2, deadline=clock.now + 100, describe="pull",
                                  sleep=clock.sleep, clock=clock, on_retry=lambda *a: retried.append(a[:2]))
    assert result == "ok"
    assert clock.sleeps == [2.0, 4.0]
    assert retried == [(1, 2.0), (2, 4.0)]


def test_retries_exhausted_names_attempts_and_cause():
    clock = FakeClock()

    def operation():
        raise oc.StreamInterrupted("connection dropped mid-stream: reset")

    with pytest.raises(oc.OllamaError) as err:
        oc.call_with_retries(operation, retries=2, retry_delay=1, deadline=clock.now + 100, describe="pull of 'x'",
                             sleep=clock.sleep, clock=clock)
    assert "pull of 'x' failed after 3 attempt(s) (retries=2): connection dropped mid-stream: reset" in \
        err.value.message
    assert clock.sleeps == [1.0, 2.0]


def test_non_retryable_errors_are_not_retried():
    clock = FakeClock()
    calls = []

    def operation():
        calls.append(1)
        raise oc.OllamaError("pull model manifest: file does not exist")

    with pytest.raises(oc.OllamaError):
        oc.call_with_retries(operation, retries=5, retry_delay=1, deadline=clock.now + 100, describe="pull",
                             sleep=clock.sleep, clock=clock)
    assert calls == [1] and clock.sleeps == []


def test_retries_stop_at_the_deadline():
    clock = FakeClock()

    def operation():
        clock.now += 30
        raise oc.StreamInterrupted("cut")

    with pytest.raises(oc.OllamaTimeout) as err:
        oc.call_with_retries(operation, retries=10, retry_delay=10, deadline=clock.now + 100, describe="pull",
                             sleep=clock.sleep, clock=clock)
    assert "no time left" in err.value.message
    # 30 (try) +10 (wait) +30 +20 = 90; the next 40s wait would cross the 100s budget.
    assert clock.sleeps == [10.0, 20.0]
