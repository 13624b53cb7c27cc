"""TLS to the gateway, shared by the session and its fast lane: self-signed, optionally pinned."""

from __future__ import annotations

import ssl

from ..errors import CertificateMismatchError


def no_verify_ssl_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # The gateway's certificate is self-signed: it cannot be verified, only pinned (cert_fingerprint).
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def parse_fingerprint(fingerprint: str) -> bytes:
    normalised = fingerprint.replace(":", "").lower()
    try:
        digest = bytes.fromhex(normalised)
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise ValueError("cert_fingerprint must be a SHA-256 fingerprint: 64 hex digits (colons allowed)")
    return digest


def certificate_mismatch(base_url: str, got: bytes) -> CertificateMismatchError:
    """The error for a certificate whose SHA-256 digest ``got`` is not the pinned one."""
    return CertificateMismatchError(
        f"{base_url}: the certificate's SHA-256 fingerprint is {got.hex()}, not the pinned "
        "gateway.cert_fingerprint: the gateway was replaced or someone is in between"
    )
