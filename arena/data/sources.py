"""Bar sources by spec: a registry of source kinds and :func:`source_from_spec`.

A data spec is a mapping with a ``source`` key naming the kind::

    {"source": "sample", "name": "us_equities_daily"}
    {"source": "csv", "path": "goog.csv", "symbol": "GOOG"}        # also "parquet", "file"
    {"source": "synthetic", "symbols": ["AAA", "BBB"], "n_bars": 500, "seed": 1, "freq": "1D"}
    {"source": "alpaca", "symbols": ["AAPL"], "timeframe": "1Day", "start": "2024-01-02", "end": "2024-06-28"}

Every kind also takes ``since`` and ``until`` (inclusive bar timestamps, ISO 8601,
naive = UTC; None = open-ended) to keep only the bars in that window (see
:mod:`arena.data.window`).

A new kind (e.g. a vendor such as Alpaca) is added with
:func:`register_source_kind`, giving a factory ``(spec, base_dir) -> BarSource``
and the keys the spec may hold.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arena.data.base import BarSource
from arena.data.files import FileSource
from arena.data.samples import SampleSource
from arena.data.synthetic import SyntheticSource
from arena.data.window import WINDOW_KEYS, WindowedSource, parse_bound

__all__ = ["SOURCE_KINDS", "SourceFactory", "SourceKind", "register_source_kind", "resolve_path", "source_from_spec"]

SourceFactory = Callable[[Mapping[str, Any], "Path | None"], BarSource]


@dataclass(frozen=True, slots=True)
class SourceKind:
    """A registered source kind.

    Attributes:
        name: the ``source`` value in a spec (``"sample"``).
        factory: builds the source from the spec and the base folder for
            relative paths (``None``: the working directory).
        required: spec keys that must be present (besides ``source``).
        optional: spec keys that may be present.
        summary: one line for help texts and error messages.
    """

    name: str
    factory: SourceFactory
    required: frozenset[str]
    optional: frozenset[str]
    summary: str


SOURCE_KINDS: dict[str, SourceKind] = {}
"""Registered source kinds by name; extend with :func:`register_source_kind`."""


def register_source_kind(
    name: str,
    factory: SourceFactory,
    *,
    required: set[str] | frozenset[str] = frozenset(),
    optional: set[str] | frozenset[str] = frozenset(),
    summary: str = "",
    replace: bool = False,
) -> None:
    """Register a source kind for :func:`source_from_spec`.

    Args:
        name: the ``source`` value naming the kind.
        factory: ``(spec, base_dir) -> BarSource``.
        required: spec keys that must be present (besides ``source``).
        optional: spec keys that may be present.
        summary: one line describing the kind.
        replace: allow replacing an existing registration.

    Raises:
        ValueError: ``name`` is already registered and ``replace`` is False.
    """
    if name in SOURCE_KINDS and not replace:
        raise ValueError(f"source kind {name!r} is already registered")
    SOURCE_KINDS[name] = SourceKind(name, factory, frozenset(required), frozenset(optional), summary)


def source_from_spec(spec: Mapping[str, Any], base_dir: str | Path | None = None) -> BarSource:
    """Build a bar source from a data spec (see module docstring).

    Args:
        spec: mapping with ``source`` and the kind's keys.
        base_dir: folder against which relative file paths are resolved
            (typically the config file's folder); ``None``: the working
            directory.

    Returns:
        The source (not yet loaded); a :class:`~arena.data.window.WindowedSource`
        around it when ``since`` or ``until`` is given (not None).

    Raises:
        ValueError: not a mapping, no or unknown ``source``, missing or
            unknown keys (with a did-you-mean hint), or bad values (a
            ``since``/``until`` that is not a timestamp, or since > until).
        KeyError: unknown sample name (lists the available ones).
        FileNotFoundError: a file spec's path does not exist.
    """
    if not isinstance(spec, Mapping):
        raise ValueError(f"data spec must be a mapping with a 'source' key, got {type(spec).__name__}")
    kinds = ", ".join(sorted(SOURCE_KINDS))
    if "source" not in spec:
        raise ValueError(f"data spec {dict(spec)!r} has no 'source' key; expected one of: {kinds}")
    name = spec["source"]
    kind = SOURCE_KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        hint = _did_you_mean(str(name), SOURCE_KINDS)
        raise ValueError(f"unknown data source kind {name!r}{hint}; expected one of: {kinds}")
    keys = set(spec) - {"source"}
    unknown = sorted(keys - kind.required - kind.optional - WINDOW_KEYS)
    if unknown:
        allowed = sorted(kind.required | kind.optional | WINDOW_KEYS)
        hints = "".join(_did_you_mean(k, allowed) for k in unknown)
        raise ValueError(f"data source {name!r}: unknown key(s) {unknown}{hints}; allowed: {allowed}")
    missing = sorted(kind.required - keys)
    if missing:
        raise ValueError(f"data source {name!r}: missing key(s) {missing}")
    since, until = parse_bound(spec.get("since"), "since"), parse_bound(spec.get("until"), "until")
    inner_spec = {k: v for k, v in spec.items() if k not in WINDOW_KEYS}
    source = kind.factory(inner_spec, Path(base_dir) if base_dir is not None else None)
    return source if since is None and until is None else WindowedSource(source, since, until)


def resolve_path(path: str | Path, base_dir: Path | None) -> Path:
    """Resolve a spec's file path.

    Absolute paths are used as given. A relative path is looked up under
    ``base_dir`` and under the working directory; it must exist in at least
    one, and where both hold a file they must be the same file.

    Raises:
        FileNotFoundError: found in neither place (both tried are named).
        ValueError: two different files match (give an absolute path).
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        if not p.exists():
            raise FileNotFoundError(f"bar file not found: {p}")
        return p
    candidates = [b / p for b in ((base_dir,) if base_dir is not None else ()) + (Path.cwd(),)]
    found = {c.resolve(): c for c in candidates if c.exists()}
    if not found:
        tried = " or ".join(str(c.resolve()) for c in candidates)
        raise FileNotFoundError(f"bar file {str(path)!r} not found (looked for {tried})")
    if len(found) > 1:
        raise ValueError(
            f"bar file {str(path)!r} is ambiguous: both {' and '.join(map(str, found))} exist; give an absolute path"
        )
    return next(iter(found))


def _did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _sample(spec: Mapping[str, Any], base_dir: Path | None) -> BarSource:
    return SampleSource(str(spec["name"]))


def _file(spec: Mapping[str, Any], base_dir: Path | None) -> BarSource:
    fmt = {"csv": "csv", "parquet": "parquet"}.get(spec["source"])
    symbol = spec.get("symbol")
    return FileSource(
        resolve_path(spec["path"], base_dir),
        symbol=str(symbol) if symbol is not None else None,
        file_format=fmt,
        timestamp_format=spec.get("timestamp_format"),
    )


def _synthetic(spec: Mapping[str, Any], base_dir: Path | None) -> BarSource:
    params = {k: v for k, v in spec.items() if k != "source"}
    if "symbols" in params:
        params["symbols"] = tuple(params["symbols"]) if not isinstance(params["symbols"], str) else (params["symbols"],)
    return SyntheticSource(**params)


def _alpaca(spec: Mapping[str, Any], base_dir: Path | None) -> BarSource:
    from arena.data.alpaca.source import source_from_alpaca_spec  # alpaca-py is imported only when used

    return source_from_alpaca_spec(spec, base_dir)


_FILE_KEYS = {"symbol", "timestamp_format"}
register_source_kind("sample", _sample, required={"name"}, summary="a bundled real data set (list_samples())")
for _kind in ("csv", "parquet", "file"):
    register_source_kind(_kind, _file, required={"path"}, optional=_FILE_KEYS, summary=f"a user {_kind} file of bars")
register_source_kind(
    "synthetic",
    _synthetic,
    optional={
        "symbols",
        "n_bars",
        "freq",
        "seed",
        "start",
        "start_price_usd",
        "drift_per_bar",
        "volatility_per_bar",
        "mean_volume",
    },
    summary="seeded GBM bars for tests",
)
register_source_kind(
    "alpaca",
    _alpaca,
    required={"symbols", "start"},
    optional={"timeframe", "end", "feed", "adjustment", "asset_class", "data_url", "stream_url", "cache_dir"},
    summary="Alpaca's historical bars (keys from APCA_API_KEY_ID / APCA_API_SECRET_KEY), cached as Parquet",
)
