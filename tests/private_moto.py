"""A moto server of one test module's own, in a separate process.

moto keeps its backends in module-level globals: two servers in the pytest process (or a
server beside mock_aws) share accounts, and whichever creates the IAM backend first decides
whether AWS managed policies exist. A subprocess gives each module clean, private state.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


LOCAL_PLATFORM_MOTO = Path(__file__).resolve().parent / "local_platform" / "moto_tls_server.py"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key) that botocore trusts through AWS_CA_BUNDLE."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = Path(directory) / "moto.crt", Path(directory) / "moto.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@contextlib.contextmanager
def private_local_platform_moto(directory: Path):
    """Yield (endpoint URL, CA file) of a private moto that behaves as the local platform's: HTTPS
    (the buckets' TLS-only policy), with the same fixes (tests/local_platform/moto_tls_server.py)."""
    cert_file, key_file = self_signed_certificate(directory)
    with private_moto(cert_file, key_file, launcher=LOCAL_PLATFORM_MOTO) as endpoint:
        yield endpoint, cert_file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def private_moto(
    cert_file: str | Path | None = None,
    key_file: str | Path | None = None,
    launcher: str | Path | None = None,
):
    """Yield the endpoint URL of a fresh moto server (HTTPS when a certificate is given).

    launcher: a Python script run instead of ``moto_server`` with the same arguments (one that
    patches moto before starting it, e.g. tests/local_platform/moto_tls_server.py).
    """
    port = _free_port()
    server = [sys.executable, str(launcher)] if launcher else [str(Path(sys.executable).parent / "moto_server")]
    cmd = [*server, "-H", "127.0.0.1", "-p", str(port)]
    scheme = "http"
    if cert_file:
        cmd += ["-c", str(cert_file), "-k", str(key_file)]
        scheme = "https"
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("moto_server exited with %s" % proc.returncode)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        if scheme == "http":
            urllib.request.urlopen("http://127.0.0.1:%d/moto-api/" % port, timeout=30).close()  # noqa: S310 - loopback
        yield "%s://127.0.0.1:%d" % (scheme, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
