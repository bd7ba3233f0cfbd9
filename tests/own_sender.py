"""A sender of the operator's own, as ``production: true`` requires
(engine/core/sendercheck.py): the shipped one is the example, refused there."""

from __future__ import annotations

#: A sender of the operator's own, as ``production: true`` requires
#: (engine/core/sendercheck.py), as settings and as config.yaml's ``sender`` line.
OWN_SENDER = {
    "from_address": "Shop <hello@shop-mail.net>",
    "contact": "help@shop-mail.net",
    "unsubscribe_mailto": "unsubscribe@shop-mail.net",
    "message_id_domain": "shop-mail.net",
    "postal_address": "Shop Ltd, 12 High Street, Leeds LS1 4AP, United Kingdom",
}
OWN_SENDER_YAML = "sender: {" + ", ".join(f"{k}: '{v}'" for k, v in OWN_SENDER.items()) + "}\n"


def own_sender(config_yaml: str) -> str:
    """The shipped config.yaml's text with a sender of the operator's own."""
    lines = [f"  {key}: '{value}'" for key, value in OWN_SENDER.items()]
    text = config_yaml.replace("\nsender:\n", "\nsender:\n" + "\n".join(lines) + "\n", 1)
    for key in ("from_address", "postal_address", "message_id_domain"):  # the shipped ones
        mine = f"  {key}: '{OWN_SENDER[key]}'"
        shipped = [line for line in text.splitlines() if line.startswith(f"  {key}: ")]
        text = text.replace(next(line for line in shipped if line != mine) + "\n", "", 1)
    return text
