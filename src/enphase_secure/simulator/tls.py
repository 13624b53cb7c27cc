"""The simulated gateway's TLS: a self-signed certificate made at start, or one given as files."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..errors import ConfigError

CERTIFICATE_LIFETIME = dt.timedelta(days=3650)


def self_signed_certificate(
    common_name: str, *, now: dt.datetime, ip_address: str | None = None
) -> tuple[bytes, bytes]:
    """A new (certificate PEM, private key PEM) pair for ``common_name``, valid from ``now``.

    Like a gateway's, it names no address; with ``ip_address`` it does (and can serve as its own CA),
    so that a client verifying certificates against it as a CA file accepts it.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CERTIFICATE_LIFETIME)
    )
    if ip_address is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip_address))]), critical=False
        ).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    certificate = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def server_ssl_context(
    *, common_name: str, cert_file: Path | None = None, key_file: Path | None = None
) -> ssl.SSLContext:
    """A server context from ``cert_file``/``key_file``, or from a fresh self-signed certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if cert_file is not None or key_file is not None:
        if cert_file is None or key_file is None:
            raise ConfigError("--cert and --key must be given together")
        try:
            context.load_cert_chain(cert_file, key_file)
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(f"--cert {cert_file} / --key {key_file}: cannot load: {err}") from err
        return context
    cert_pem, key_pem = self_signed_certificate(common_name, now=dt.datetime.now(dt.UTC))
    # ssl.SSLContext only loads certificates from files.
    with tempfile.TemporaryDirectory(prefix="enphase-secure-tls-") as folder:
        cert_path, key_path = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert_path.write_bytes(cert_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context
