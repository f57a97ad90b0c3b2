"""Credentials stay out of what the arena prints, stores and serves.

A URL's password (``redis://:pw@host:6379/0``, ``questdb://user:pw@host:9000``) is shown as
``***``, and so is the value of any key that names a secret (``password``, ``secret``,
``token``, ``api_key``, …), wherever it sits in a config. The run's own connections use the
real values; only the copies that are printed, recorded in the store's ``runs.config`` or
answered by the API are redacted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

__all__ = ["MASK", "redact", "redact_url"]

MASK = "***"
_SECRET_KEY = re.compile(r"(^|[_-])(password|passwd|secret|token|api[_-]?key|credentials?)($|[_-])", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``; other URLs and non-URLs unchanged."""
    if "://" not in url or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
        password, host, port = parts.password, parts.hostname, parts.port
    except ValueError:  # not a URL after all (e.g. a bad port): hide what follows the scheme's user part
        head, _, tail = url.rpartition("@")
        return f"{head.split('://', 1)[0]}://{MASK}@{tail}"
    if password is None:
        return url
    netloc = f"{parts.username or ''}:{MASK}@{host or ''}" + (f":{port}" if port else "")
    return parts._replace(netloc=netloc).geturl()


def redact(value: Any) -> Any:
    """``value`` (a config as plain data: dicts, lists, strings, numbers) with every URL password
    and every value of a secret-named key replaced by ``***``; a new object, the input unchanged."""
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, Mapping):
        return {
            k: (MASK if isinstance(k, str) and _SECRET_KEY.search(k) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    return value
