"""The API client over real TLS: certificates are checked with one context per process, and the
SSL_CERT_FILE a deployment sets is still honoured.

A portal on 127.0.0.1 speaks HTTPS with a certificate made here (signed by nobody a default
trust store knows), so the only way to reach it is to trust that certificate explicitly.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pipelines.learnupon.client import LearnUponClient, tls_context
from pipelines.learnupon.errors import TransientAPIError


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lms-warehouse test portal")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "portal.pem", folder / "portal.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Timezones(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = json.dumps({"timezones": [{"name": "UTC"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_portal(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, the certificate's file) of a portal answering over HTTPS on 127.0.0.1."""
    cert, key = self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Timezones)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/api/v1", cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_clients_share_one_context_that_checks_certificates(https_portal: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    base_url, _ = https_portal
    assert tls_context() is tls_context()
    assert tls_context().verify_mode == ssl.CERT_REQUIRED and tls_context().check_hostname
    with LearnUponClient(base_url, "key", "secret", max_retries=0) as client:
        with pytest.raises(TransientAPIError) as refused:
            client.get_json("/timezones")
    # the operator's message names the certificate, not only "connection"
    assert "last problem: tls_certificate" in str(refused.value)
    assert client.stats.as_dict()["faults"] == {"tls_certificate": 1}


def test_ssl_cert_file_is_honoured_by_a_client_made_after_it_is_set(https_portal: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    base_url, cert = https_portal
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    default = tls_context()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    assert tls_context() is not default and tls_context() is tls_context()
    with LearnUponClient(base_url, "key", "secret", max_retries=0) as client:
        assert client.get_json("/timezones") == {"timezones": [{"name": "UTC"}]}
