"""What both privacy test modules share: the data subject, Maryam (FA1, Persian), and
Alex (EN1), whom her erasure must leave alone, as the customers, orders and consent
files they are imported from.

``test_export_and_erasure.py`` tests what export and erasure do,
``test_privacy_commands.py`` the ``rapport customers`` commands. They import these
from ``tests.consent.conftest`` (the name pytest gives this file).
"""

from __future__ import annotations

import json

FIRST, LAST = "مریم", "کریمی"
EMAIL = "Maryam.Karimi@example.com"  # a mixed-case local part, as people type it
PHONE = "+989121234567"

CUSTOMERS_CSV = f"""\
id,first_name,last_name,email,phone,locale,timezone,country,birthday,created_at
FA1,{FIRST},{LAST},{EMAIL},{PHONE},fa_IR,Asia/Tehran,IR,1991-11-26,2024-01-01T00:00:00Z
EN1,Alex,Morgan,alex@example.com,+12025550123,en_US,America/New_York,US,1979-07-04,2024-01-01T00:00:00Z
"""
ORDERS_CSV = """\
id,customer_id,sku,quantity,amount,currency,ordered_at
O1,FA1,SERUM-30ML,1,12.50,USD,2026-10-01T10:00:00Z
O2,EN1,COFFEE-1KG,2,30.00,USD,2026-10-02T10:00:00Z
"""
CONSENT_JSONL = "\n".join(
    json.dumps(record, ensure_ascii=False)
    for record in (
        {
            "customer_id": customer_id,
            "channel": channel,
            "topic": "birthday",
            "status": "granted",
            "source": "checkout",
            "captured_at": "2025-01-01T10:00:00Z",
            "wording": "birthday-v1",
        }
        for customer_id in ("FA1", "EN1")
        for channel in ("email", "sms")
    )
)
