"""The local platform: every service is real and reachable, and the launcher manages its processes.

The smoke tests use the shared platform (the `local_platform` fixture). The lifecycle test starts a
second, private platform on other ports and a private state directory, so it never disturbs the
shared one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import psycopg
import pytest
import redis

from platform_helpers import LOCAL_PLATFORM, REPO


def test_moto_answers_boto3(local_platform):
    s3 = boto3.client("s3", endpoint_url=local_platform["AWS_ENDPOINT_URL"], region_name="us-east-1")
    name = f"smoke-{os.getpid()}"
    s3.create_bucket(Bucket=name)
    try:
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        s3.delete_bucket(Bucket=name)
    west = boto3.client("ec2", endpoint_url=local_platform["AWS_ENDPOINT_URL"], region_name="us-west-2")
    zones = {z["ZoneName"] for z in west.describe_availability_zones()["AvailabilityZones"]}
    assert zones >= {"us-west-2a", "us-west-2b"}


def test_postgres_runs_sql(local_platform):
    with psycopg.connect(
        host=local_platform["PGHOST"],
        port=int(local_platform["PGPORT"]),
        user=local_platform["PGUSER"],
        password=local_platform["PGPASSWORD"],
        dbname=local_platform["PGDATABASE"],
    ) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        assert 150000 <= int(version) < 160000
        assert conn.execute("SELECT 6 * 7").fetchone()[0] == 42


def test_redis_round_trip(local_platform):
    client = redis.Redis.from_url(local_platform["REDIS_URL"])
    client.set("smoke", "ok", ex=30)
    assert client.get("smoke") == b"ok"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed on this machine")
def test_kubectl_discovers_the_emulator(local_platform):
    out = subprocess.run(
        ["kubectl", "--kubeconfig", local_platform["KUBECONFIG"], "api-resources", "-o", "name"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    for resource in ("namespaces", "deployments.apps", "networkpolicies.networking.k8s.io",
                     "horizontalpodautoscalers.autoscaling", "roles.rbac.authorization.k8s.io"):
        assert resource in out
    namespaces = json.loads(subprocess.run(
        ["kubectl", "--kubeconfig", local_platform["KUBECONFIG"], "get", "ns", "-o", "json"],
        capture_output=True, text=True, check=True,
    ).stdout)
    assert "kube-system" in [ns["metadata"]["name"] for ns in namespaces["items"]]


def test_ollama_api_version(local_platform):
    with urllib.request.urlopen(local_platform["OLLAMA_HOST"] + "/api/version", timeout=5) as resp:  # noqa: S310
        assert json.load(resp)["version"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,pgid="], capture_output=True, text=True, check=True).stdout
    return {int(p) for p, g in (line.split() for line in out.splitlines()) if int(g) == pid}


def test_launcher_is_idempotent_and_leaves_no_strays(tmp_path: Path):
    env = {
        **os.environ,
        "LOCAL_PLATFORM_DIR": str(tmp_path / "lp"),
        "LP_REDIS_PORT": str(_free_port()),
        "LP_OLLAMA_PORT": str(_free_port()),
    }
    run = [sys.executable, str(LOCAL_PLATFORM)]
    services = ["redis", "ollama"]
    subprocess.run([*run, "start", *services], env=env, check=True, cwd=REPO)
    pids = {s: int((tmp_path / "lp" / "run" / f"{s}.pid").read_text()) for s in services}
    # A second start leaves the running services alone.
    second = subprocess.run([*run, "start", *services], env=env, check=True, cwd=REPO, capture_output=True, text=True)
    assert second.stderr.count("already running") == 2
    assert pids == {s: int((tmp_path / "lp" / "run" / f"{s}.pid").read_text()) for s in services}
    status = subprocess.run([*run, "status", *services], env=env, cwd=REPO, capture_output=True, text=True, check=False)
    assert status.returncode == 0 and status.stdout.count("running") == 2
    groups = {pid: _descendants(pid) for pid in pids.values()}
    assert all(groups.values())
    subprocess.run([*run, "stop", *services], env=env, check=True, cwd=REPO)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_descendants(pid) for pid in pids.values()):
        time.sleep(0.2)
    assert not any(_descendants(pid) for pid in pids.values()), "processes of the stopped platform remain"
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    status = subprocess.run([*run, "status", *services], env=env, cwd=REPO, capture_output=True, text=True, check=False)
    assert status.returncode == 1 and status.stdout.count("stopped") == 2


def test_env_prints_exports_for_every_service():
    out = subprocess.run(
        [sys.executable, str(LOCAL_PLATFORM), "env"], capture_output=True, text=True, check=True
    ).stdout
    keys = {line.split("=", 1)[0].removeprefix("export ") for line in out.splitlines()}
    assert {"KUBECONFIG", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE",
            "OLLAMA_HOST", "REDIS_URL"} <= keys
