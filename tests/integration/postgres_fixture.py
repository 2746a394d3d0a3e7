"""PostgreSQL for integration tests: the local platform's server, or a private throw-away cluster.

Use from a test module in this directory (pytest puts it on sys.path):

    import postgres_fixture
    pg_server = postgres_fixture.pg_server
    pg_database = postgres_fixture.pg_database

``pg_server`` (session) yields a ``PgServer``. By default it is the local platform's PostgreSQL
(``scripts/local-platform start postgres``); set ``LP_TEST_PG=private`` to get a private cluster
on a free port instead (also the fallback when the local platform cannot start).
``pg_database`` (module) creates a fresh database and drops it, and the roles the tests created,
afterwards.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("LP_PG_BIN", "/usr/lib/postgresql/15/bin"))
HOST = "127.0.0.1"


@dataclass
class PgServer:
    host: str
    port: int
    user: str = "postgres"
    password: str = "postgres"  # local throw-away cluster
    private_dir: Path | None = None
    created_roles: set[str] = field(default_factory=set)

    def connect(self, dbname: str = "postgres", user: str | None = None, password: str | None = None,
                autocommit: bool = True, **kw) -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user=user or self.user,
                               password=self.password if password is None else password,
                               dbname=dbname, autocommit=autocommit, connect_timeout=10, **kw)

    def login_params(self, dbname: str, user: str | None = None, password: str | None = None) -> dict:
        """Module connection options for this server."""
        return {"login_host": self.host, "login_port": self.port, "login_user": user or self.user,
                "login_password": self.password if password is None else password,
                "ssl_mode": "disable", "database": dbname}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _as_pg_user(argv: list[str]) -> list[str]:
    """initdb/pg_ctl refuse to run as root: run them as the postgres account then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def start_private_cluster() -> PgServer:
    base = Path(tempfile.mkdtemp(prefix="tenant-schema-pg-", dir="/tmp"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    pwfile = base / "pw"
    pwfile.write_text("postgres\n")
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        for path in (base, sock, pwfile):
            os.chown(path, pg.pw_uid, pg.pw_gid)
    subprocess.run(_as_pg_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
                                "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8",
                                "--locale=C.UTF-8"]),
                   check=True, capture_output=True)
    port = _free_port()
    opts = f"-p {port} -k {sock} -c listen_addresses={HOST} -c fsync=off -c max_connections=60"
    subprocess.run(_as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"),
                                "-w", "-t", "60", "start"]), check=True, capture_output=True)
    return PgServer(HOST, port, private_dir=base)


def stop_private_cluster(server: PgServer) -> None:
    if server.private_dir is None:
        return
    subprocess.run(_as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(server.private_dir / "data"), "-m", "fast",
                                "-w", "stop"]), check=False, capture_output=True)
    shutil.rmtree(server.private_dir, ignore_errors=True)


def _local_platform_server() -> PgServer | None:
    port = int(os.environ.get("LP_PG_PORT", "15432"))
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "local-platform"), "start", "postgres"],
                          cwd=REPO, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    server = PgServer(HOST, port)
    try:
        server.connect().close()
    except psycopg.Error:
        return None
    return server


@pytest.fixture(scope="session")
def pg_server():
    server = None
    if os.environ.get("LP_TEST_PG", "local") != "private" and (REPO / "scripts" / "local-platform").exists():
        server = _local_platform_server()
    if server is None:
        server = start_private_cluster()
    yield server
    stop_private_cluster(server)


def unique(prefix: str = "t") -> str:
    """A tenant name no other test run uses (roles are cluster-wide)."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def drop_database(server: PgServer, name: str) -> None:
    with server.connect() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        for _ in range(50):
            try:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
                return
            except psycopg.errors.ObjectInUse:
                time.sleep(0.1)


def drop_roles_like(server: PgServer, prefix: str) -> None:
    """Remove roles a test created (and anything they still own or are granted)."""
    with server.connect() as conn:
        rows = conn.execute("SELECT rolname FROM pg_roles WHERE left(rolname, length(%s)) = %s",
                            (prefix, prefix)).fetchall()
        for (role,) in rows:
            dbs = conn.execute("SELECT datname FROM pg_database WHERE datallowconn").fetchall()
            for (db,) in dbs:
                with server.connect(db) as dbconn:
                    dbconn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(scope="module")
def pg_database(pg_server):
    """A fresh database owned by postgres; dropped afterwards."""
    name = "ts_" + uuid.uuid4().hex[:10]
    with pg_server.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    drop_database(pg_server, name)
