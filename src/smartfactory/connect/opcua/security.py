"""Certificates for Basic256Sha256: self-signed ones for tests and first trials, and reading their URI.

OPC UA (Part 6 §6.2.2) wants an application instance certificate whose subjectAltName holds the
application URI (and the host name); a client whose ``application_uri`` differs from its
certificate's is refused by most servers, so the client and the twin server take the URI from
the certificate rather than from a setting that could disagree with it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from smartfactory.model.errors import UserError


@dataclass(frozen=True)
class CertificateFiles:
    """A certificate (DER) and its private key (PEM) on disk, and the application URI inside."""

    certificate: Path
    private_key: Path
    application_uri: str


def make_self_signed(
    folder: str | Path,
    name: str,
    application_uri: str,
    *,
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
    days: int = 365,
) -> CertificateFiles:
    """Write ``<name>.der`` and ``<name>.pem`` (a 2048-bit RSA key) for an OPC UA application."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    alt_names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri)]
    for host in (*hosts, socket.gethostname()):
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    files = CertificateFiles(folder / f"{name}.der", folder / f"{name}.pem", application_uri)
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
    files.private_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    files.private_key.chmod(0o600)
    return files


def application_uri(certificate: str | Path) -> str | None:
    """The application URI in a certificate's subjectAltName (DER or PEM), if it has one."""
    path = Path(certificate)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read certificate {path}: {exc.strerror}") from None
    try:
        cert = (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except ValueError as exc:
        raise UserError(f"certificate {path} is neither DER nor PEM X.509: {exc}") from None
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = alt.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None
