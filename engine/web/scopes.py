"""What an HTTP API token may do: one scope each (``rapport.engine.web.api_tokens``).

A module of its own so that ``rapport api-token --help`` names the scopes without
importing the database layer that storing tokens needs.
"""

from __future__ import annotations

#: ``ingest`` sends data in, ``send`` asks for messages, ``read`` reads what was sent.
SCOPES = ("ingest", "send", "read")
