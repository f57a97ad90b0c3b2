"""Store URLs and the registry of store backends.

A store is named by a URL; its scheme picks the backend:

* ``duckdb:///abs/path/arena.duckdb`` (absolute), ``duckdb://runs/arena.duckdb``
  (relative to the working directory) or a plain path ending ``.duckdb`` →
  :class:`arena.store.duckdb_store.DuckDBStore`.
* ``questdb://host:port`` (the HTTP port, default 9000), optionally with
  ``?pg_port=8812`` (PostgreSQL wire) and ``&prefix=arena_`` (table-name prefix)
  → :class:`arena.store.questdb_store.QuestDBStore`.

Other backends plug in with :func:`register_store_scheme`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from arena.store.base import Store
from arena.store.duckdb_store import DuckDBStore

__all__ = ["StoreOpener", "open_store", "parse_store_url", "register_store_scheme", "store_schemes"]

StoreOpener = Callable[..., Store]
"""``opener(location: str, read_only: bool, **options) -> Store``; ``location`` is
the URL after ``scheme://``."""

_SCHEMES: dict[str, StoreOpener] = {}

_FORMS = (
    "duckdb:///abs/path.duckdb, duckdb://relative/path.duckdb, "
    "a plain path ending .duckdb, or questdb://host:port"
)


def register_store_scheme(scheme: str, opener: StoreOpener, *, replace: bool = False) -> None:
    """Make ``scheme://...`` URLs open with ``opener``.

    Args:
        scheme: lowercase URL scheme, e.g. ``questdb``.
        opener: ``opener(location, read_only, **options) -> Store``.
        replace: allow replacing an existing registration.

    Raises:
        ValueError: if the scheme is malformed, or registered and not ``replace``.
    """
    if not scheme or not scheme.isascii() or not scheme.replace("+", "").isalnum():
        raise ValueError(f"store scheme must be alphanumeric (e.g. 'questdb'), got {scheme!r}")
    scheme = scheme.lower()
    if scheme in _SCHEMES and not replace:
        raise ValueError(f"store scheme {scheme!r} is already registered; pass replace=True")
    _SCHEMES[scheme] = opener


def store_schemes() -> tuple[str, ...]:
    """Registered URL schemes, sorted."""
    return tuple(sorted(_SCHEMES))


def parse_store_url(url: str | Path) -> tuple[str, str]:
    """Split a store URL into (scheme, location) without opening anything.

    Args:
        url: see the module docstring for the accepted forms.

    Returns:
        ``("duckdb", "/abs/path.duckdb")``, ``("questdb", "host:9009")``, ...

    Raises:
        ValueError: naming the URL and the accepted forms, for an unknown scheme,
            an empty location, or a plain path not ending ``.duckdb``.
    """
    if isinstance(url, Path):
        text = str(url)
        if url.suffix != ".duckdb":
            raise ValueError(f"store path {text!r} must end with .duckdb; accepted: {_FORMS}")
        return "duckdb", text
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"store URL must be a non-empty string; accepted: {_FORMS}; got {url!r}")
    if "://" not in url:
        if not url.endswith(".duckdb"):
            raise ValueError(
                f"store URL {url!r} has no scheme and does not end with .duckdb; accepted: {_FORMS}"
            )
        return "duckdb", url
    scheme, location = url.split("://", 1)
    scheme = scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(
            f"store URL {url!r}: unknown scheme {scheme!r}; known: {', '.join(store_schemes())}"
        )
    if not location:
        raise ValueError(f"store URL {url!r} names no location; accepted: {_FORMS}")
    return scheme, location


def open_store(url: str | Path, read_only: bool = False, **options: Any) -> Store:
    """Open the store a URL names.

    Args:
        url: ``duckdb:///abs/path.duckdb``, ``duckdb://relative.duckdb``, a plain
            path ending ``.duckdb``, or ``questdb://host:port[?pg_port=N&prefix=P]``.
        read_only: open for reading only (the HTTP API does).
        **options: backend options, e.g. ``busy_timeout_s`` and ``batch_rows``
            for DuckDB, ``batch_rows`` and ``spool_dir`` for QuestDB (which ignores
            ``busy_timeout_s``).

    Returns:
        An open :class:`Store`; close it (or use ``with``) when done.

    Raises:
        ValueError: for a malformed URL (see :func:`parse_store_url`).
        FileNotFoundError: for a read-only open of a DuckDB file that does not exist.
        ConnectionError: if a QuestDB server does not answer.
        StoreBusyError: if a DuckDB file is held by another writer process.
    """
    scheme, location = parse_store_url(url)
    return _SCHEMES[scheme](location, read_only, **options)


def _open_duckdb(location: str, read_only: bool, **options: Any) -> Store:
    return DuckDBStore(location, read_only=read_only, **options)


def _open_questdb(location: str, read_only: bool, **options: Any) -> Store:
    # imported here: only processes that open a QuestDB store load its clients
    from arena.store.questdb_store import open_questdb

    return open_questdb(location, read_only, **options)


register_store_scheme("duckdb", _open_duckdb)
register_store_scheme("questdb", _open_questdb, replace=True)
