"""A throwaway PgBouncer in transaction-pooling mode in front of the test PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from services.common.storage.db import PGBOUNCER_QUERY
from tests.support.processes import free_port

PACKAGE = "pgbouncer"
START_TIMEOUT_S = 30.0


def ensure_pgbouncer() -> str:
    """The pgbouncer binary, installed from Debian's package with apt-get when missing."""
    for candidate in (shutil.which("pgbouncer"), "/usr/sbin/pgbouncer"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", PACKAGE]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        subprocess.run(install, env=env, capture_output=True, check=True)
    return "/usr/sbin/pgbouncer"


@contextlib.contextmanager
def running_pgbouncer(postgres_url: str) -> Iterator[int]:
    """PgBouncer (pool_mode = transaction) for the server of ``postgres_url``; yields its port."""
    binary = ensure_pgbouncer()
    server = make_url(postgres_url)
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="sb-pgbouncer-"))
    workdir.chmod(0o777)  # pgbouncer drops root and runs as the postgres user
    user = server.username or "postgres"
    (workdir / "userlist.txt").write_text(f'"{user}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={server.host or '127.0.0.1'} port={server.port or 5432}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {workdir / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        "max_client_conn = 1000\n"
        "default_pool_size = 2\n"  # few server connections: clients share them
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {workdir / 'pgbouncer.log'}\n"
    )
    for path in workdir.iterdir():
        path.chmod(0o666)
    argv = [binary, *(["-u", "postgres"] if os.geteuid() == 0 else []), "pgbouncer.ini"]
    process = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (workdir / "pgbouncer.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"pgbouncer did not start: {log}")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def through(url: str, port: int) -> str:
    """``url`` (a PostgreSQL database) reached through the PgBouncer on ``port``."""
    parsed = make_url(url).set(host="127.0.0.1", port=port)
    return parsed.update_query_dict({PGBOUNCER_QUERY: "true"}).render_as_string(hide_password=False)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
