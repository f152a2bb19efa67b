"""A scriptable local HTTPS server (throwaway CA via trustme) standing in for customer sites."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
import uvicorn

CERT_NAMES = ("127.0.0.1", "localhost", "public.test", "rebind.test")
"""Names the receiver's certificate is valid for."""


@dataclass
class Reply:
    """How the receiver answers one path.

    ``delay`` seconds pass before the status line; then ``body`` is sent whole, or, with
    ``drip_interval``, one byte at a time with that pause between bytes.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip_interval: float | None = None

    @classmethod
    def json(cls, value: Any, status: int = 200, delay: float = 0.0) -> Reply:
        """A JSON answer."""
        return cls(
            status=status,
            body=json.dumps(value).encode(),
            headers={"content-type": "application/json"},
            delay=delay,
        )

    @classmethod
    def redirect(cls, location: str, status: int = 307) -> Reply:
        """A redirect to ``location``."""
        return cls(status=status, headers={"location": location})


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        """The request body parsed as JSON."""
        return json.loads(self.body)


class HttpsReceiver:
    """Serves scripted replies on unique paths and records every request."""

    def __init__(self, port: int, ca: trustme.CA, ca_file: Path) -> None:
        self.port = port
        self.ca = ca
        self.ca_file = ca_file
        self._replies: dict[str, Reply] = {}
        self._received: dict[str, list[Received]] = {}

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """The https URL of ``path`` on this receiver."""
        return f"https://{host}:{self.port}{path}"

    def endpoint(self, reply: Reply) -> str:
        """A fresh path answering ``reply``; returns its URL."""
        path = f"/{uuid.uuid4().hex}"
        self._replies[path] = reply
        return self.url(path)

    def answer(self, url: str, reply: Reply) -> None:
        """From now on, answer the path of ``url`` with ``reply``."""
        self._replies["/" + url.rsplit("/", 1)[-1]] = reply

    def received(self, url: str) -> list[Received]:
        """Requests received on the path of ``url``."""
        return self._received.get("/" + url.rsplit("/", 1)[-1], [])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        self._received.setdefault(path, []).append(
            Received(
                method=scope["method"],
                path=path,
                headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
                body=body,
                at=time.monotonic(),
            )
        )
        reply = self._replies.get(path, Reply(status=404))
        if reply.delay:
            await asyncio.sleep(reply.delay)
        headers = [(k.encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if reply.drip_interval is None:
            await send({"type": "http.response.body", "body": reply.body})
            return
        for index in range(len(reply.body)):
            await send(
                {
                    "type": "http.response.body",
                    "body": reply.body[index : index + 1],
                    "more_body": True,
                }
            )
            await asyncio.sleep(reply.drip_interval)
        await send({"type": "http.response.body", "body": b""})


@contextlib.asynccontextmanager
async def running_receiver(
    workdir: Path, ca: trustme.CA | None = None
) -> AsyncIterator[HttpsReceiver]:
    """An HTTPS receiver on 127.0.0.1 with a certificate from ``ca`` (default: a new CA)."""
    ca = ca or trustme.CA()
    certificate = ca.issue_cert(*CERT_NAMES)
    ca_file = workdir / "receiver-ca.pem"
    cert_file = workdir / "receiver-cert.pem"
    key_file = workdir / "receiver-key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    certificate.private_key_pem.write_to_path(str(key_file))
    with cert_file.open("wb") as out:
        for blob in certificate.cert_chain_pems:
            out.write(blob.bytes())
    receiver = HttpsReceiver(0, ca, ca_file)
    server = uvicorn.Server(
        uvicorn.Config(
            receiver,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            ssl_certfile=str(cert_file),
            ssl_keyfile=str(key_file),
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("receiver did not start")
        await asyncio.sleep(0.01)
    receiver.port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
