"""Private collaborators for the fault tests: nothing here touches the shared local platform.

Every fixture starts its own instance on a free port and stops it afterwards: a PostgreSQL cluster
in a temporary directory (the restart test restarts it), a moto server in a subprocess, an Ollama
API server and a Kubernetes API emulator whose ``ollama*`` Services proxy to that Ollama.
"""

from __future__ import annotations

import pytest
from reliability_support import postgres_fixture  # also puts tests/, local_platform/, integration/ on sys.path

from ollama_server.harness import OllamaServer
from private_moto import private_moto
from tenant_fixtures import K8sEmulator


@pytest.fixture(scope="module")
def pg_private():
    """A private PostgreSQL 15 cluster this module may restart."""
    server = postgres_fixture.start_private_cluster()
    yield server
    postgres_fixture.stop_private_cluster(server)


@pytest.fixture(scope="module")
def moto_url():
    with private_moto() as url:
        yield url


@pytest.fixture(scope="module")
def ollama(tmp_path_factory):
    server = OllamaServer(str(tmp_path_factory.mktemp("ollama"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def k8s(tmp_path_factory, ollama):
    emulator = K8sEmulator(tmp_path_factory.mktemp("k8s"), ollama.url).start()
    yield emulator
    emulator.stop()
