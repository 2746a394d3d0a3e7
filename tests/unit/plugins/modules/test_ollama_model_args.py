"""Argument handling of ollama_model that must fail before any network request."""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest

_COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".collections"))
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.llm_saas.platform.plugins.modules import ollama_model  # noqa: E402


@pytest.fixture
def listener():
    """A socket that counts connection attempts: proves no request was made."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    sock.setblocking(False)
    yield sock
    sock.close()


def run(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        ollama_model.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def connections(sock):
    try:
        sock.accept()[0].close()
        return 1
    except BlockingIOError:
        return 0


@pytest.mark.parametrize("name", ["a/b/c/d", "llama3:", "bad name", "x@sha256:00"])
def test_bad_name_fails_before_any_request(name, listener, capsys):
    url = "http://127.0.0.1:%d" % listener.getsockname()[1]
    code, result = run({"name": name, "api_url": url}, capsys)
    assert code == 1 and result["failed"]
    assert result["msg"].startswith("Invalid 'name'")
    assert connections(listener) == 0


def test_bad_api_url_names_the_field(capsys):
    code, result = run({"name": "llama3", "api_url": "ftp://x"}, capsys)
    assert code == 1 and "Invalid api_url" in result["msg"]


def test_api_url_and_service_are_exclusive(capsys):
    code, result = run({"name": "llama3", "api_url": "http://x", "service": {"namespace": "a", "name": "b"}},
                       capsys)
    assert code == 1 and "mutually exclusive" in result["msg"]


def test_negative_retries_rejected(listener, capsys):
    url = "http://127.0.0.1:%d" % listener.getsockname()[1]
    code, result = run({"name": "llama3", "api_url": url, "retries": -1}, capsys)
    assert code == 1 and "'retries'" in result["msg"]
    assert connections(listener) == 0
