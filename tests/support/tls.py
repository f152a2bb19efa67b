"""Throwaway certificate authorities (trustme) and the PEM files the TLS settings name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme


@dataclass(frozen=True)
class Authority:
    """A CA's bundle on disk plus one certificate (chain and key) it issued."""

    ca: trustme.CA
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_settings(self, *, require_client_cert: bool = False) -> dict[str, Any]:
        """Settings overrides for a TLS listener with this authority's certificate."""
        return {
            "grpc_tls_cert_file": self.cert_file,
            "grpc_tls_key_file": self.key_file,
            "grpc_tls_ca_file": self.ca_file,
            "grpc_tls_require_client_cert": require_client_cert,
        }

    def client_settings(self, *, with_certificate: bool = True) -> dict[str, Any]:
        """Settings overrides for dialing TLS upstreams trusting this authority."""
        overrides: dict[str, Any] = {"grpc_tls_ca_file": self.ca_file}
        if with_certificate:
            overrides["grpc_tls_client_cert_file"] = self.cert_file
            overrides["grpc_tls_client_key_file"] = self.key_file
        return overrides


def new_authority(directory: Path, name: str) -> Authority:
    """A new CA and a certificate for 127.0.0.1/localhost, written under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name=f"Switchboard tests {name}")
    issued = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca_file = directory / f"{name}-ca.pem"
    cert_file = directory / f"{name}-cert.pem"
    key_file = directory / f"{name}-key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    issued.private_key_pem.write_to_path(str(key_file))
    with cert_file.open("wb") as out:
        for blob in issued.cert_chain_pems:
            out.write(blob.bytes())
    return Authority(ca, ca_file, cert_file, key_file)
