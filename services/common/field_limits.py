"""Length limits of the API's free-text fields: the services enforce, the gateway declares."""

from __future__ import annotations

from typing import Final

DISPLAY_NAME_MAX_LENGTH: Final = 200
"""An agent identity's display name."""
DESCRIPTION_MAX_LENGTH: Final = 10_000
"""The description of an agent identity or an API key."""
LABEL_MAX_LENGTH: Final = 200
"""An API key's label (at least one character)."""
