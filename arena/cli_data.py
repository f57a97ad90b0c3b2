"""``arena data fetch CONFIG``: fill the Alpaca bar cache ahead of a run, with a progress bar.

A config whose ``data`` is ``{source: alpaca, ...}`` is downloaded once (one request per
symbol, every page) into ``data.cache_dir``; the run then reads the cache file, offline. The
keys come from ``APCA_API_KEY_ID``/``APCA_API_SECRET_KEY``; a missing or rejected key exits
with status 2 and says which variable to set, without a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from arena.cli import JsonOpt, _fail, data_app, err, out

__all__ = ["data_fetch"]


@data_app.command("fetch")
def data_fetch(
    config: Annotated[Path, typer.Argument(help="YAML config whose data is {source: alpaca, ...}")],
    refresh: Annotated[bool, typer.Option("--refresh", help="download again even when cached")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Download a config's Alpaca bars into the cache (offline reruns; the run names the cache file)."""
    from arena.config import ConfigError, load_config

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        _fail(str(exc))
    if cfg.data.source != "alpaca":
        _fail(f"{config}: data.source is {cfg.data.source!r}; `arena data fetch` downloads source 'alpaca' only")
    from arena.data.alpaca import AlpacaAuthError, AlpacaDataError, CacheIntegrityError
    from arena.data.alpaca.source import source_from_alpaca_spec

    try:
        source = source_from_alpaca_spec(cfg.data.model_dump())
    except ValueError as exc:
        _fail(f"{config}: data: {exc}")
    request = source.request
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("symbols"), TimeElapsedColumn(), console=err, disable=json_out)
    try:
        with progress:
            task = progress.add_task(f"Alpaca {request.timeframe} bars", total=len(request.symbols))

            def on_symbol(symbol: str, done: int, total: int) -> None:
                progress.update(task, completed=done, description=f"Alpaca {request.timeframe} bars: {symbol}")

            path, frame, downloaded = source.fetch(on_symbol, refresh=refresh)
    except AlpacaAuthError as exc:
        _fail(str(exc))
    except (AlpacaDataError, CacheIntegrityError, ValueError) as exc:
        _fail(f"{config}: data: {exc}", code=1)
    from arena.data.alpaca.cache import BarCache

    meta = BarCache.metadata(path)
    answer = {"cache_file": str(path.resolve()), "rows": meta["rows"], "sha256": meta["sha256"],
              "downloaded": downloaded, "symbols": sorted(set(frame["symbol"])),
              "first": frame["timestamp"].min().isoformat(), "last": frame["timestamp"].max().isoformat()}
    if json_out:
        print(json.dumps(answer))
        return
    how = "downloaded" if downloaded else "already cached"
    out.print(f"{how}: {answer['rows']} bars of {', '.join(answer['symbols'])}, {answer['first']} .. "
              f"{answer['last']}\n{answer['cache_file']}\nsha256 {answer['sha256']}", highlight=False)
