"""What the credentials Switchboard issues look like: their prefixes and the part shown later.

The config service mints them, the registry strips the signing-key prefix to sign, and the
log formatter masks anything shaped like them: all from these names.
"""

from __future__ import annotations

from typing import Final

API_KEY_PREFIX: Final = "sb_"
"""Every API key (and generated local token) starts with this."""
SIGNING_SECRET_PREFIX: Final = "whsec_"
"""Every webhook signing key starts with this (the form receivers expect); not part of the
HMAC key."""
DISPLAY_PREFIX_LENGTH: Final = 10
"""How much of an API key's start is kept in clear to recognise it by (with its last 4)."""
