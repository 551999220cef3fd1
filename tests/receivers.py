"""Local receivers for alerts: an HTTP server (webhook, WeCom robot) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HttpReceiver:
    """Records every POST; answers 500 to the first ``fail_first`` requests, then ``answer``."""

    def __init__(self, fail_first: int = 0, answer: dict | None = None) -> None:
        self.requests: list[dict] = []
        self.fail_first = fail_first
        self.answer = answer if answer is not None else {"errcode": 0, "errmsg": "ok"}
        self.hits = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's name
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.hits += 1
                if receiver.hits <= receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "json": json.loads(body.decode("utf-8"))})
                data = json.dumps(receiver.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_certificate(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 (and its key), as PEM files in ``folder``: (cert, key)."""
    import datetime
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = Path(folder) / "smtp-cert.pem", Path(folder) / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class SmtpReceiver:
    """A real SMTP server on localhost (aiosmtpd); ``messages`` are parsed e-mails.

    With ``certificate`` (cert, key) it requires STARTTLS; with ``login`` (user, password) it
    requires a login over TLS and records each attempt in ``logins`` with whether TLS was on.
    """

    def __init__(self, certificate: tuple[str, str] | None = None,
                 login: tuple[str, str] | None = None) -> None:
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages = []
        self.envelopes = []
        self.logins: list[tuple[str, str, bool]] = []
        receiver = self
        options: dict = {}
        if certificate:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            options.update(tls_context=context, require_starttls=True)
        if login:
            def authenticate(server, session, envelope, mechanism, auth_data):
                user, password = auth_data.login.decode(), auth_data.password.decode()
                receiver.logins.append((user, password, session.ssl is not None))
                return AuthResult(success=(user, password) == login, handled=False)

            options.update(authenticator=authenticate, auth_require_tls=True, auth_required=True)

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                receiver.envelopes.append(envelope)
                receiver.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
