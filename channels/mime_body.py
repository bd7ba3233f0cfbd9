"""The text parts of an e-mail (:func:`rapport.channels.mime.build_email`): each body
in CRLF lines and the 7-bit transfer encoding that carries it (RFC 2045).

Apart from :mod:`rapport.channels.mime` only to keep each module readable at once.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["text_part"]

#: RFC 5322 2.1.1: lines SHOULD be at most 78 characters (``mime.MAX_LINE``).
_LINE = 78


def text_part(content_type: str, text: str) -> tuple[str, str]:
    """A text part's headers and encoded body, lines normalised to CRLF.

    7bit when the text is ASCII with lines of at most 78 characters; otherwise
    quoted-printable when that is shorter than base64 (mostly-ASCII text: English HTML
    with long lines), else base64. Either keeps every line within 76 characters, so a
    1,000-character line in a template cannot break the 998 limit.
    """
    data = b"\r\n".join(text.encode("utf-8").splitlines()) + b"\r\n"
    if data.isascii() and max(map(len, data.split(b"\r\n"))) <= _LINE:
        cte, body = "7bit", data.decode("ascii")
    elif len(data.translate(None, _ASCII_BYTES)) * 2 < len(data) // 3:
        # QP spends 3 characters on each non-ASCII byte, base64 4 on every 3 bytes.
        cte, body = "quoted-printable", binascii.b2a_qp(data, istext=True).decode("ascii")
    else:
        cte = "base64"
        body = _base64_lines(data)
    headers = (
        f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
    )
    return headers, body


_ASCII_BYTES = bytes(range(128))


def _base64_lines(data: bytes) -> str:
    """``data`` in base64 lines of 76 characters ended by CRLF: the bytes of
    ``base64.encodebytes`` with CRLF, from one encoding call instead of one per line."""
    encoded = base64.b64encode(data).decode("ascii")
    return "".join([encoded[i : i + 76] + "\r\n" for i in range(0, len(encoded), 76)])
