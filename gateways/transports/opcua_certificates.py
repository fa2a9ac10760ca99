"""``circlemade opcua make-cert``: a self-signed application certificate and key.

OPC UA security (Sign, SignAndEncrypt) needs a certificate whose subject alternative name
carries the application URI (``urn:circlemade:edge`` for the edge). The server must
trust it (copy ``cert.der`` into the server's trusted folder), and the edge must trust
the server's certificate (copy it into the source's ``trust_dir``).
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography.x509.oid import ExtendedKeyUsageOID


def make_certificate(folder: Path, app_uri: str = "urn:circlemade:edge",
                     server: bool = False) -> tuple[Path, Path]:
    """(certificate.der, key.pem) in ``folder``; kept if they exist and are still valid."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.der", folder / "key.pem"
    use = [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
    asyncio.run(setup_self_signed_certificate(
        key, cert, app_uri, socket.gethostname(), use,
        {"commonName": app_uri, "organizationName": "circlemade-edge"}))
    key.chmod(0o600)
    return cert, key
