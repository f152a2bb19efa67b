"""Tokens a run generates when none is configured: kept 0600 in the data dir and reused."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import stat
from pathlib import Path
from typing import Final

from pydantic import SecretStr

from services.common.credential_formats import API_KEY_PREFIX
from services.common.errors import FailedPrecondition
from services.common.settings import BaseServiceSettings

INTERNAL_TOKEN_ENV: Final = "SWITCHBOARD_INTERNAL_TOKEN"
EDGE_TOKEN_ENV: Final = "SWITCHBOARD_EDGE_TOKEN"
INTERNAL_TOKEN_FILE: Final = "internal-token"
EDGE_TOKEN_FILE: Final = "edge-token"
_PREFIXES: Final = {INTERNAL_TOKEN_FILE: "sbint_", EDGE_TOKEN_FILE: "sbedge_"}


def is_configured(token: SecretStr | None) -> bool:
    """Whether ``token`` was given a value (an empty variable counts as unset)."""
    return token is not None and bool(token.get_secret_value().strip())


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps a listener on this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def require_token_off_loopback(host: str, configured: SecretStr | None, where: str) -> None:
    """Refuse ``host`` (a bind address or an upstream) off this machine without a set token.

    ``where`` names the host in the one-line error, e.g. "the config service binds".
    """
    if not is_configured(configured) and not is_loopback(host):
        raise FailedPrecondition(
            f"{where} {host}, which is not loopback: set {INTERNAL_TOKEN_ENV} "
            "(a generated token is only for local runs)",
            reason="INTERNAL_TOKEN_REQUIRED",
        )


def host_of(target: str) -> str:
    """The host part of a gRPC ``host:port`` target (IPv6 in brackets allowed)."""
    target = target.removeprefix("dns:///").removeprefix("ipv4:").removeprefix("ipv6:")
    host = target.rsplit(":", 1)[0] if target.count(":") == 1 or "]:" in target else target
    return host.strip("[]")


def internal_token(settings: BaseServiceSettings, configured: SecretStr | None) -> SecretStr:
    """``configured``, else the data dir's generated internal token (created on first use)."""
    if configured is not None and is_configured(configured):
        return configured
    return SecretStr(local_token(settings.data_file(INTERNAL_TOKEN_FILE)))


def edge_token(settings: BaseServiceSettings, configured: SecretStr | None) -> SecretStr:
    """``configured``, else the data dir's generated edge token (created on first use)."""
    if configured is not None and is_configured(configured):
        return configured
    return SecretStr(local_token(settings.data_file(EDGE_TOKEN_FILE)))


def local_token(path: Path) -> str:
    """The token stored at ``path``; a new random one (file mode 0600) if there is none.

    Creation is atomic (written aside, then hard-linked into place), so processes
    starting together all end up with the same token. A file others may read is refused.
    """
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = _PREFIXES.get(path.name, API_KEY_PREFIX) + secrets.token_urlsafe(32)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(token + "\n")
            out.flush()
            os.fsync(out.fileno())
        # FileExistsError: another process of this run created it first; use theirs.
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    finally:
        aside.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise FailedPrecondition(
            f"{path} is accessible to other users (mode {stat.S_IMODE(mode):o}): "
            f"run `chmod 600 {path}`",
            reason="TOKEN_FILE_PERMISSIONS",
        )
    token = path.read_text().strip()
    if not token:
        raise FailedPrecondition(f"{path} is empty: delete it to generate a new token")
    return token
