"""Idempotent writes: a retry with the same `request_id` / `Idempotency-Key` replays the answer.

Contract (AIP-155; documented in README.md, "Idempotent writes"):

* A write RPC whose request has a ``string request_id`` field may be retried with the
  same ``request_id``: the first successful response is returned again, byte for byte,
  without running the write a second time. Keys are per account, at most
  :data:`KEY_MAX_LENGTH` printable ASCII characters (a UUID is recommended); an empty
  ``request_id`` means "not idempotent".
* The same key with a different request (another RPC, other fields, or a caller of
  another scope: admin vs. an identity-scoped key) is FAILED_PRECONDITION with reason
  :data:`KEY_REUSED_REASON` (REST: 422).
* Only success is recorded: a request that failed changed nothing, so its key stays
  unused and a retry runs it again.
* The response is stored in the service's own database (table ``idempotency_keys``),
  in the write's own transaction: a committed write always has its stored response,
  on every replica and after any restart. Rows are kept at least 24 h
  (``SWITCHBOARD_IDEMPOTENCY_RETENTION_HOURS``) and then pruned by age.
* Two requests with one key in flight at once: the second waits for the first's
  transaction (PostgreSQL: on the key's unique index; SQLite: on the write gate, across
  processes on the write lock) and then replays its response, or runs itself if the first
  failed. Neither gets an error.
* Stored responses may carry secrets shown once (a minted API key, a signing secret),
  so they are encrypted (AES-256-GCM) with a key derived from the idempotency key,
  which is itself stored only as a hash: the database alone cannot reveal them.

How to adopt it for a new write RPC (two lines):

1. In the proto, add to the request message (next free field number)::

       // Idempotency key (AIP-155; REST: the `Idempotency-Key` header): a retry with
       // the same value replays the first response. See README "Idempotent writes".
       string request_id = N [(google.api.field_behavior) = OPTIONAL];

2. In the servicer, wrap the call to the service function::

       return await idempotency.once(
           self._sessions, principal, request, pb.Thing,
           lambda: self._create_thing(principal, request),  # -> pb.Thing
       )

   ``self._sessions`` must be the process's
   :func:`services.common.storage.db.create_session_factory`
   (it is, in both services); the service function keeps its usual
   ``async with sessions.begin()``, which joins the transaction this opens (as a
   savepoint; it commits after the response is rendered and stored). Everything before
   the first ``begin()`` (validation, RPCs) runs outside it; keep RPCs out of the
   ``begin()`` block, as everywhere.

3. In the gateway route, take the header and pass it down::

       async def create_thing(request: Request, body: Body, key: IdempotencyKey = None):
           message = pb.CreateThingRequest(..., request_id=key or "")

   and add ``**IDEMPOTENT_RESPONSES`` to the route's ``responses`` (both are in
   ``gateway/idempotency.py``; they document the header and its 422 in OpenAPI).
   Tests to copy: ``tests/services/common/test_idempotency.py`` (gRPC) and
   ``tests/gateway/test_idempotency.py`` (REST, including an answer lost in transit).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from google.protobuf.message import Message
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import Principal
from services.common.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.common.storage.db import AmbientTransaction, WriteSessions
from services.common.storage.orm import UTCDateTime, UUIDString, utcnow

KEY_MAX_LENGTH: Final = 255
"""Longest accepted key (as Stripe and the IETF Idempotency-Key draft's examples)."""
KEY_PATTERN: Final = r"^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$"
"""Accepted keys: 1 to 255 printable ASCII characters, no space at either end (HTTP would
strip it, so a REST client could not send the same key again)."""
KEY_FIELD: Final = "request_id"
KEY_REUSED_REASON: Final = "IDEMPOTENCY_KEY_REUSED"
DEFAULT_RETENTION: Final = timedelta(hours=24)
"""The shortest time a key is honoured; the retention setting may only raise it."""
PRUNE_INTERVAL: Final = timedelta(hours=1)
TABLE_NAME: Final = "idempotency_keys"

_log = logging.getLogger(__name__)
_NONCE_BYTES: Final = 12
_KDF_INFO: Final = b"switchboard idempotent response v1"


def idempotency_table(metadata: MetaData) -> Table:
    """The ``idempotency_keys`` table, declared in a service's metadata (both services have it)."""
    return Table(
        TABLE_NAME,
        metadata,
        Column("account_id", UUIDString(), primary_key=True),
        Column("key_hash", String(64), primary_key=True),  # SHA-256 of the key
        Column("request_hash", String(64), nullable=False),
        Column("operation", String(200), nullable=False),
        Column("response", LargeBinary, nullable=True),  # nonce + AES-GCM ciphertext
        Column("created_at", UTCDateTime(), nullable=False, index=True),
    )


_TABLE: Final = idempotency_table(MetaData())
"""The same table for the queries here (both services' tables have this exact shape)."""


R = TypeVar("R", bound=Message)


@dataclass(frozen=True)
class KeyedRequest:
    """A request under an idempotency key: who, which key, and a digest of what was asked."""

    account_id: str
    key: str
    operation: str
    fingerprint: str

    @property
    def key_hash(self) -> str:
        """What the database stores instead of the key."""
        return hashlib.sha256(b"switchboard-idempotency-key\0" + self.key.encode()).hexdigest()

    def _cipher(self) -> AESGCM:
        kdf = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=self.account_id.encode(), info=_KDF_INFO
        )
        return AESGCM(kdf.derive(self.key.encode()))

    def seal(self, plaintext: bytes) -> bytes:
        """``plaintext`` encrypted under this key, bound to the account and the request."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._cipher().encrypt(nonce, plaintext, self.fingerprint.encode())

    def open(self, sealed: bytes) -> bytes:
        """The plaintext :meth:`seal` produced."""
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._cipher().decrypt(nonce, ciphertext, self.fingerprint.encode())


def checked_key(value: str) -> str:
    """``value`` if it is a valid idempotency key, else InvalidArgument on ``request_id``."""
    if re.fullmatch(KEY_PATTERN, value) is None:
        raise InvalidArgument.for_field(
            KEY_FIELD,
            f"{KEY_FIELD} (Idempotency-Key) must be 1 to {KEY_MAX_LENGTH} printable ASCII "
            "characters, not starting or ending with a space",
            reason="INVALID_IDEMPOTENCY_KEY",
        )
    return value


def request_key(request: Message) -> str:
    """The request's ``request_id`` ("" when absent)."""
    key: str = getattr(request, KEY_FIELD)
    return key


def keyed_request(principal: Principal, request: Message) -> KeyedRequest:
    """The request's key and fingerprint (the request without its key, and the caller's scope)."""
    key = checked_key(request_key(request))
    operation = request.DESCRIPTOR.full_name
    unkeyed = type(request)()
    unkeyed.CopyFrom(request)
    setattr(unkeyed, KEY_FIELD, "")
    body = unkeyed.SerializeToString(deterministic=True)
    digest = hashlib.sha256()
    for part in (operation, principal.scope.value, principal.identity_id or ""):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return KeyedRequest(principal.account_id, key, operation, digest.hexdigest())


async def once(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    request: Message,
    response_type: Callable[[], R],
    write: Callable[[], Awaitable[R]],
) -> R:
    """``write()``'s response, stored under the request's key; or the stored one, replayed.

    Without a ``request_id`` this is just ``await write()``. ``sessions`` must come from
    :func:`services.common.storage.db.create_session_factory`, so that the write joins the
    transaction that stores its response.
    """
    if not request_key(request):
        return await write()
    if not isinstance(sessions, WriteSessions):
        raise TypeError("idempotent writes need sessions from db.create_session_factory")
    keyed = keyed_request(principal, request)
    async with sessions.reading() as session:
        stored = await _stored(session, keyed)
    if stored is not None:
        return _replayed(keyed, stored, response_type)

    async def claim(session: AsyncSession) -> None:
        await _claim(session, keyed)

    transaction = AmbientTransaction(sessions, claim)
    try:
        async with transaction.around():
            response = await write()
        session = await transaction.session()
        await session.execute(
            update(_TABLE)
            .where(_TABLE.c.account_id == keyed.account_id, _TABLE.c.key_hash == keyed.key_hash)
            .values(response=keyed.seal(response.SerializeToString(deterministic=True)))
        )
        await transaction.commit()
    except _Replay as replay:
        await transaction.abandon()
        return _replayed(keyed, replay.stored, response_type)
    except BaseException:
        await transaction.abandon()
        raise
    return response


async def prune(sessions: WriteSessions, older_than: timedelta) -> int:
    """Delete keys stored more than ``older_than`` ago; how many were deleted."""
    cutoff = utcnow() - max(older_than, DEFAULT_RETENTION)
    async with sessions.begin() as session:
        result = await session.execute(delete(_TABLE).where(_TABLE.c.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def start_pruning(
    sessions: WriteSessions, retention: timedelta, interval: timedelta = PRUNE_INTERVAL
) -> Callable[[], Awaitable[None]]:
    """Prune now and then every ``interval`` in the background; returns the stopper."""

    async def loop() -> None:
        while True:
            try:
                await prune(sessions, retention)
            except Exception:  # the database may be briefly away; the next round retries
                _log.warning("pruning idempotency keys failed", exc_info=True)
            await asyncio.sleep(interval.total_seconds())

    task = asyncio.create_task(loop(), name="prune-idempotency-keys")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop


@dataclass(frozen=True)
class _Stored:
    request_hash: str
    response: bytes | None


class _Replay(Exception):
    """Raised out of a service's ``begin()`` when the key turned out to be taken meanwhile."""

    def __init__(self, stored: _Stored) -> None:
        super().__init__("idempotent replay")
        self.stored = stored


async def _stored(session: AsyncSession, keyed: KeyedRequest) -> _Stored | None:
    row = (
        await session.execute(
            select(_TABLE.c.request_hash, _TABLE.c.response).where(
                _TABLE.c.account_id == keyed.account_id, _TABLE.c.key_hash == keyed.key_hash
            )
        )
    ).first()
    return None if row is None else _Stored(row.request_hash, row.response)


async def _claim(session: AsyncSession, keyed: KeyedRequest) -> None:
    """Insert the key first thing in the write's transaction, or replay who holds it.

    On PostgreSQL the insert waits for a concurrent transaction holding the same key;
    on SQLite the write lock already serialised us behind it.
    """
    values = {
        "account_id": keyed.account_id,
        "key_hash": keyed.key_hash,
        "request_hash": keyed.fingerprint,
        "operation": keyed.operation,
        "response": None,
        "created_at": utcnow(),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(_TABLE).values(**values).on_conflict_do_nothing()
    for _attempt in range(2):  # a second time only if the holder was pruned meanwhile
        if getattr(await session.execute(insert), "rowcount", 0) == 1:
            return
        stored = await _stored(session, keyed)
        if stored is not None:
            raise _Replay(stored)
    raise Unavailable("idempotency key is busy; retry")


def _replayed(keyed: KeyedRequest, stored: _Stored, response_type: Callable[[], R]) -> R:
    if stored.request_hash != keyed.fingerprint:
        raise FailedPrecondition(
            "Idempotency-Key (request_id) was already used for a different request",
            reason=KEY_REUSED_REASON,
        )
    if stored.response is None:  # never committed so; kept out of the type by the claim
        raise Unavailable("idempotency key is busy; retry")
    try:
        plaintext = keyed.open(stored.response)
    except InvalidTag:  # only if the row was altered: never replay what cannot be verified
        raise Unavailable("stored response cannot be read; retry with a new key") from None
    response = response_type()
    response.ParseFromString(plaintext)
    return response
