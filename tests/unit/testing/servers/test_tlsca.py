"""The test CA: certificate contents, PKCS#1 keys, and real TLS handshakes (in memory, no sockets)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl  # noqa: TID251 - real TLS handshakes in memory
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pygroups.testing.servers.tlsca import CertificateAuthority, IssuedCert


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority("unit CA")


@pytest.fixture(scope="module")
def other_ca() -> CertificateAuthority:
    return CertificateAuthority("some other CA")


@pytest.fixture(scope="module")
def server(ca: CertificateAuthority) -> IssuedCert:
    return ca.issue_server_cert()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_ca_certificate_is_a_self_signed_root(ca: CertificateAuthority) -> None:
    cert = x509.load_pem_x509_certificate(ca.cert_pem)
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "unit CA"
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    cert.verify_directly_issued_by(cert)
    assert cert.not_valid_before_utc <= _now() <= cert.not_valid_after_utc


def test_server_cert_has_ip_and_dns_sans_and_is_signed_by_the_ca(ca: CertificateAuthority, server: IssuedCert) -> None:
    cert = server.certificate
    cert.verify_directly_issued_by(ca.certificate)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH]
    )
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_custom_hosts(ca: CertificateAuthority) -> None:
    cert = ca.issue_server_cert(["10.96.0.1", "kubernetes.default.svc", "[fd00::1]"]).certificate
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.96.0.1"),
        ipaddress.ip_address("fd00::1"),
    ]
    assert san.get_values_for_type(x509.DNSName) == ["kubernetes.default.svc"]
    with pytest.raises(ValueError):
        ca.issue_server_cert([])


def test_keys_are_pkcs1_rsa_2048_and_match_the_certificate(server: IssuedCert) -> None:
    assert server.key_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(server.key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert key.public_key().public_numbers() == server.certificate.public_key().public_numbers()  # type: ignore[union-attr]


def test_client_cert_carries_cn_and_organizations(ca: CertificateAuthority) -> None:
    issued = ca.issue_client_cert("system:node:n1", organizations=["system:nodes"])
    cert = issued.certificate
    cert.verify_directly_issued_by(ca.certificate)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:n1"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:nodes"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert issued.key_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")


def test_expired_certificate(ca: CertificateAuthority) -> None:
    cert = ca.issue_server_cert(expired=True).certificate
    assert cert.not_valid_after_utc < _now()
    assert cert.not_valid_before_utc < cert.not_valid_after_utc


def test_write_files(ca: CertificateAuthority, server: IssuedCert, tmp_path: Path) -> None:
    files = server.write(tmp_path / "sub", "api")
    assert files.cert == tmp_path / "sub" / "api.crt" and files.key == tmp_path / "sub" / "api.key"
    assert files.cert.read_bytes() == server.cert_pem
    assert files.key.read_bytes() == server.key_pem
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    ca_path = ca.write_ca(tmp_path / "ca" / "ca.crt")
    assert ca_path.read_bytes() == ca.cert_pem
    # the default file name comes from the common name, made file-system safe
    assert ca.issue_client_cert("system:admin").write(tmp_path).cert.name == "system_admin.crt"


def test_repr_never_shows_key_material(server: IssuedCert, ca: CertificateAuthority) -> None:
    assert "PRIVATE" not in repr(server) and "127.0.0.1" in repr(server)
    assert "PRIVATE" not in repr(ca)


# --- real handshakes through ssl memory BIOs ------------------------------------------------------


def _server_context(
    issued: IssuedCert, tmp_path: Path, client_ca: CertificateAuthority | None = None
) -> ssl.SSLContext:
    files = issued.write(tmp_path, "srv")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(files.cert, files.key)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=client_ca.cert_pem.decode())
    return ctx


def _client_context(
    trust: CertificateAuthority, client: IssuedCert | None = None, tmp_path: Path | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=trust.cert_pem.decode())
    if client is not None:
        assert tmp_path is not None
        files = client.write(tmp_path, "cli")
        ctx.load_cert_chain(files.cert, files.key)
    return ctx


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, host: str = "127.0.0.1") -> None:
    """Drive both ends of a TLS handshake in memory; raise the first side's error."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=host)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):
        for name, end in (("c", client), ("s", server)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            # TLS 1.3: the server checks the client certificate after the client is "done"
            client.write(b"x")
            s_in.write(c_out.read())
            server.read(1)
            return
    raise AssertionError("handshake did not finish")


def test_handshake_succeeds_with_the_issuing_ca(server: IssuedCert, ca: CertificateAuthority, tmp_path: Path) -> None:
    _handshake(_server_context(server, tmp_path), _client_context(ca))
    _handshake(_server_context(server, tmp_path), _client_context(ca), host="localhost")


def test_handshake_rejects_a_certificate_from_another_ca(
    ca: CertificateAuthority, other_ca: CertificateAuthority, tmp_path: Path
) -> None:
    foreign = other_ca.issue_server_cert()
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        _handshake(_server_context(foreign, tmp_path), _client_context(ca))


def test_handshake_rejects_an_expired_certificate(ca: CertificateAuthority, tmp_path: Path) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
        _handshake(_server_context(ca.issue_server_cert(expired=True), tmp_path), _client_context(ca))


def test_handshake_rejects_a_host_not_in_the_sans(server: IssuedCert, ca: CertificateAuthority, tmp_path: Path) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _handshake(_server_context(server, tmp_path), _client_context(ca), host="127.0.0.2")


def test_mutual_tls(
    server: IssuedCert, ca: CertificateAuthority, other_ca: CertificateAuthority, tmp_path: Path
) -> None:
    good = ca.issue_client_cert("alice")
    _handshake(_server_context(server, tmp_path, client_ca=ca), _client_context(ca, good, tmp_path))
    with pytest.raises(ssl.SSLError):
        _handshake(_server_context(server, tmp_path, client_ca=ca), _client_context(ca))  # no client cert
    bad = other_ca.issue_client_cert("mallory")
    with pytest.raises(ssl.SSLError):
        _handshake(_server_context(server, tmp_path, client_ca=ca), _client_context(ca, bad, tmp_path))
