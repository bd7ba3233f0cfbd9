"""SMS providers' error codes that say a number must not be texted again.

Kept apart from the adapters (:mod:`rapport.channels.http_sms`,
:mod:`rapport.channels.twilio`), which use them on a refused send, so that the
delivery receipts' table (``rapport.engine.delivery.receipts``) can read them without
importing an HTTP client: ``rapport dispatch`` of e-mail alone imports neither.
"""

from __future__ import annotations

from typing import Final

__all__ = ["INVALID_NUMBER_CODES", "SUPPRESS_CODES"]

#: The generic provider's (``http_sms``) error codes that say the number itself is bad.
INVALID_NUMBER_CODES: Final = frozenset({"invalid_number", "invalid_recipient"})
#: Twilio error codes that say the number itself must not be texted again.
SUPPRESS_CODES: Final = {
    21211: "invalid To number",
    21610: "recipient unsubscribed",
    21614: "To is not a mobile number",
}
