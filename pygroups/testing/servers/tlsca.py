"""A throw-away certificate authority for TLS tests (the Kubernetes API stand-in, mTLS clients).

Keys are RSA 2048 and written as PKCS#1 (``-----BEGIN RSA PRIVATE KEY-----``) because Java's
jgroups-kubernetes client-certificate mode only decodes that form. Host names become DNS SANs and IP
literals IP SANs, so both Java's default hostname verifier and Python's ``ssl`` accept
``https://127.0.0.1:<port>``. Bad-input helpers: ``expired=True`` issues a certificate that is no longer
valid, and a second ``CertificateAuthority`` signs certificates the first one's clients must refuse.

Needs the ``cryptography`` package (the ``testing`` / ``test`` extras); it is imported here only, so
``import pygroups.testing`` works without it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertFiles", "CertificateAuthority", "IssuedCert", "generate_key", "key_to_pem"]

DEFAULT_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
_VALIDITY = dt.timedelta(days=30)
_SKEW = dt.timedelta(minutes=5)  # tolerate clocks slightly behind ours


def generate_key() -> rsa.RSAPrivateKey:
    """An RSA 2048 key: small enough to generate in ~0.1 s, accepted by every JDK."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_to_pem(key: rsa.RSAPrivateKey) -> bytes:
    """PKCS#1 ``RSA PRIVATE KEY`` PEM (unencrypted) — the form Java KUBE_PING's client-cert mode reads."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return x509.DNSName(host)


@dataclass(frozen=True)
class CertFiles:
    """Paths of a written certificate (PEM) and its key (PKCS#1 PEM)."""

    cert: Path
    key: Path


@dataclass(frozen=True, repr=False)
class IssuedCert:
    """A certificate and its private key, both PEM. ``repr`` hides the key."""

    cert_pem: bytes
    key_pem: bytes
    common_name: str

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    def write(self, directory: str | Path, name: str | None = None) -> CertFiles:
        """Write ``<name>.crt`` and ``<name>.key`` (key mode 0600) into ``directory``; returns the paths."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        stem = name or _file_stem(self.common_name)
        cert, key = d / f"{stem}.crt", d / f"{stem}.key"
        cert.write_bytes(self.cert_pem)
        key.touch(mode=0o600)
        key.write_bytes(self.key_pem)
        return CertFiles(cert=cert, key=key)

    def __repr__(self) -> str:
        return f"IssuedCert(common_name={self.common_name!r})"


def _file_stem(common_name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in common_name) or "cert"


class CertificateAuthority:
    """A self-signed root CA that issues server and client certificates.

    ``CertificateAuthority()`` generates a fresh key and root certificate; ``cert_pem`` is what clients
    trust (``write_ca(path)`` puts it in a file, like the service-account ``ca.crt``).
    """

    def __init__(self, common_name: str = "pygroups test CA", *, validity: dt.timedelta = _VALIDITY) -> None:
        self.common_name = common_name
        self._key = generate_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        ski = x509.SubjectKeyIdentifier.from_public_key(self._key.public_key())
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _SKEW)
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem: bytes = self._cert.public_bytes(serialization.Encoding.PEM)

    @property
    def certificate(self) -> x509.Certificate:
        return self._cert

    def write_ca(self, path: str | Path) -> Path:
        """Write the CA certificate (PEM) to ``path`` (parent directories are created)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(self.cert_pem)
        return p

    def issue_server_cert(
        self,
        hosts: Iterable[str] = DEFAULT_HOSTS,
        *,
        common_name: str | None = None,
        expired: bool = False,
        validity: dt.timedelta = _VALIDITY,
    ) -> IssuedCert:
        """A TLS server certificate for ``hosts`` (IP literals become IP SANs, names DNS SANs)."""
        host_list = list(hosts)
        if not host_list:
            raise ValueError("a server certificate needs at least one host")
        return self._issue(
            common_name or host_list[0],
            sans=[_san(h) for h in host_list],
            usage=ExtendedKeyUsageOID.SERVER_AUTH,
            organizations=(),
            expired=expired,
            validity=validity,
        )

    def issue_client_cert(
        self,
        common_name: str,
        *,
        organizations: Iterable[str] = (),
        expired: bool = False,
        validity: dt.timedelta = _VALIDITY,
    ) -> IssuedCert:
        """A TLS client certificate. The Kubernetes API server takes CN as the user and O as the groups."""
        return self._issue(
            common_name,
            sans=[],
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
            organizations=tuple(organizations),
            expired=expired,
            validity=validity,
        )

    def _issue(
        self,
        common_name: str,
        *,
        sans: list[x509.GeneralName],
        usage: x509.ObjectIdentifier,
        organizations: tuple[str, ...],
        expired: bool,
        validity: dt.timedelta,
    ) -> IssuedCert:
        key = generate_key()
        now = _now()
        if expired:  # valid for a day, ended an hour ago
            not_before, not_after = now - dt.timedelta(days=1, hours=1), now - dt.timedelta(hours=1)
        else:
            not_before, not_after = now - _SKEW, now + validity
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return IssuedCert(
            cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=key_to_pem(key), common_name=common_name
        )

    def __repr__(self) -> str:
        return f"CertificateAuthority(common_name={self.common_name!r})"
