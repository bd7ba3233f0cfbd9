"""Development outbox: each message becomes one file you can open or diff.

E-mail is written as ``<name>.eml`` holding exactly the MIME bytes SMTP would carry
(open it in any mail client); SMS as ``<name>.json``. The name comes from the
idempotency key, so sending the same message again overwrites the same file: the
outbox shows what was sent, once, however often dispatch retried.

Keys contain ``:`` and other characters some file systems refuse, so the name is the
key with everything outside ``[A-Za-z0-9._-]`` replaced, cut to a readable length,
plus a short hash of the full key so that distinct keys never share a file.

An address with a non-ASCII local part (``josé@example.com``) is written as UTF-8, as
a server offering SMTPUTF8 would receive it, so this channel can carry every address
an import accepts (:meth:`FileChannel.carries_utf8_mailboxes`).

The files are personal data (names, addresses, the whole message): when a customer is
erased, :meth:`FileChannel.erase_messages` deletes the files of their messages, found
by the same idempotency keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, Self

from rapport.channels.base import Channel, OutgoingMessage, SendResult
from rapport.channels.options import OptionProblem

__all__ = ["FileChannel", "safe_file_stem"]

DEFAULT_SENDER: Final = "Rapport <rapport@localhost>"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_READABLE = 80


def _default_message_id_domain() -> str:
    # The MIME writer (and the e-mail package) is imported by what writes e-mail, not
    # by a configuration check that only reads this adapter's options.
    from rapport.channels.mime import DEFAULT_MESSAGE_ID_DOMAIN

    return DEFAULT_MESSAGE_ID_DOMAIN


def safe_file_stem(idempotency_key: str) -> str:
    """A file-system-safe, collision-free name for a key.

    >>> safe_file_stem("c1:birthday:2025-03-01:email")
    'c1_birthday_2025-03-01_email-a6285ad0cd74'
    """
    readable = _UNSAFE.sub("_", idempotency_key).strip("._")[:_MAX_READABLE]
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:12]
    return f"{readable}-{digest}" if readable else digest


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` in one step, so a crash never leaves half a message behind."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FileChannel(Channel):
    """Write e-mail as ``.eml`` and SMS as ``.json`` files into one directory."""

    name = "file"
    kinds = frozenset({"email", "sms"})
    supports_html = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        sender: str = DEFAULT_SENDER,
        message_id_domain: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.sender = sender
        self.message_id_domain = message_id_domain or _default_message_id_domain()

    @classmethod
    def value_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        """An empty ``path`` is the config file's own folder (``Path("")`` is ``.``),
        and one with a space at either end names a folder beside the one meant."""
        path = options.get("path")
        if isinstance(path, str) and (not path.strip() or path != path.strip()):
            return [
                OptionProblem(
                    "path", f"{path!r} names no folder: write it without spaces at either end"
                )
            ]
        return []

    @classmethod
    def from_options(cls, options: Mapping[str, Any], base_dir: Path) -> Self:
        """Resolve a relative ``path`` against the configuration file's directory."""
        options = dict(options)
        if "path" in options:
            options["path"] = Path(base_dir) / Path(options["path"]).expanduser()
        return cls(**options)

    def options(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sender": self.sender,
            "message_id_domain": self.message_id_domain,
        }

    @classmethod
    def carries_utf8_mailboxes(cls, options: Mapping[str, Any]) -> bool:
        """A file holds a non-ASCII local part as UTF-8 (RFC 6532), whatever the options."""
        return True

    def file_for(self, message: OutgoingMessage) -> Path:
        """Where ``message`` is (or will be) written."""
        suffix = ".eml" if message.kind == "email" else ".json"
        return self.path / f"{safe_file_stem(message.idempotency_key)}{suffix}"

    def erase_messages(self, idempotency_keys: Iterable[str]) -> int:
        """Delete the files written for these messages (e-mail and SMS alike); returns
        how many there were. Used when a customer is erased: the files name them."""
        removed = 0
        for key in idempotency_keys:
            stem = safe_file_stem(key)
            for suffix in (".eml", ".json"):
                try:
                    (self.path / f"{stem}{suffix}").unlink()
                except FileNotFoundError:
                    continue
                removed += 1
        return removed

    async def send(self, message: OutgoingMessage) -> SendResult:
        if refused := self.unsupported(message):
            return refused
        if message.kind == "email":
            from rapport.channels.mime import MessageFormatError, build_email, message_id_of

            try:
                data = build_email(
                    message,
                    self.sender,
                    message_id_domain=self.message_id_domain,
                    smtputf8=True,
                )
            except MessageFormatError as exc:
                return SendResult.permanent(str(exc))
            provider_id = message_id_of(message, self.message_id_domain)
        else:
            record = {
                "to": message.to,
                "text": message.text,
                "locale": message.locale,
                "idempotency_key": message.idempotency_key,
                "customer_id": message.customer_id,
                "campaign": message.campaign,
            }
            data = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
            provider_id = None
        target = self.file_for(message)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            _write_atomically(target, data)
        except OSError as exc:  # full disk, permissions: may pass once fixed
            return SendResult.transient(f"cannot write the outbox file: {exc.strerror}")
        return SendResult.accepted(provider_id or target.name)
