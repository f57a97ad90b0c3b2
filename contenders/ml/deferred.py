"""On-demand explanations: what a learned contender keeps for a decision it did not explain.

A learned contender explains at decision time only the decisions that change its
portfolio (the decision has target weights). For every other decision it records
the explanation's inputs and puts one reference line in the decision's explanation
(:func:`deferred_line`, ``method="deferred"``); :func:`explain_recorded` computes the
explanation later — from the versioned checkpoint in force at that bar and the
recorded inputs — exactly as :meth:`LearnedContender.predict` would have at decision
time (same model state, same window, same torch thread count).

Files, in the contender's artifacts folder ``<artifacts>/<run_id>/<contender>/``
(next to ``ckpt-NNNN.pkl`` and ``checkpoints.json``):

* ``explain-inputs.json`` — the layout: the contender's class (``module:qualname``),
  seed and parameters, its symbols, feature names, ``lookback_bars`` and the record
  dtype; written once, before the first record.
* ``explain-inputs.bin`` — fixed-size little-endian records, appended one per deferred
  decision (one unbuffered ``write``, so a record is in the OS' hands before the
  decision is returned; a run that dies keeps every record written): ``bar`` int64
  (0-based bar index), ``ts_ns`` int64 (UTC), ``version`` int64 and ``serial`` int64
  (the checkpoint in force; equal since versions count every checkpoint saved; they
  differed in folders written before), ``ok`` uint8 ``[S]`` (the symbols the model saw),
  ``X`` float32 ``[S, L, F]`` (the windows it saw, NaN where not ok) and ``held``
  float64 ``[S]`` (the portfolio weights, fraction of equity, for models whose
  prediction depends on them). Read with ``numpy.fromfile`` (:func:`read_records`).

Checkpoint files are never overwritten (``ckpt-<version>.pkl``, versions counting every
checkpoint saved, rolled back or not), so a record always finds the model it names.
The records are binary files rather than a store column because the QuestDB store's
ILP path has no binary type, and because they are only read when someone asks.
"""

from __future__ import annotations

import importlib
import json
import pickle
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ledger.types import Contribution

__all__ = [
    "DEFERRED_FEATURE",
    "DEFERRED_METHOD",
    "INPUTS_FILE",
    "LAYOUT_FILE",
    "HeldWeights",
    "InputsWriter",
    "deferred_line",
    "explain_recorded",
    "is_deferred",
    "read_records",
    "record_dtype",
]

DEFERRED_METHOD = "deferred"
"""``Contribution.method`` of the reference line of a decision explained on demand."""
DEFERRED_FEATURE = "explanation"
"""``Contribution.feature`` of that line (its ``value`` is the checkpoint version)."""
INPUTS_FILE = "explain-inputs.bin"
LAYOUT_FILE = "explain-inputs.json"
_FORMAT = 1
_MODEL_CACHE_SIZE = 8  # loaded checkpoints kept per process (API / CLI)


def deferred_line(version: int) -> Contribution:
    """The one explanation line of a deferred decision: ``explanation`` / ``deferred``,
    ``value`` = the version of the checkpoint in force (the inputs file has the rest)."""
    return Contribution(DEFERRED_FEATURE, float(version), 0.0, DEFERRED_METHOD, "")


def is_deferred(lines: Any) -> bool:
    """True when an explanation (Contributions, or row dicts with ``method``) holds a deferred reference."""
    for e in lines or ():
        method = e.get("method") if isinstance(e, Mapping) else getattr(e, "method", None)
        if method == DEFERRED_METHOD:
            return True
    return False


def record_dtype(n_symbols: int, lookback_bars: int, n_features: int) -> np.dtype:
    """The structured dtype of one record of ``explain-inputs.bin`` (see the module docstring)."""
    S, L, F = int(n_symbols), int(lookback_bars), int(n_features)
    return np.dtype(
        [
            ("bar", "<i8"),
            ("ts_ns", "<i8"),
            ("version", "<i8"),
            ("serial", "<i8"),
            ("ok", "u1", (S,)),
            ("X", "<f4", (S, L, F)),
            ("held", "<f8", (S,)),
        ]
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


class InputsWriter:
    """Appends the inputs of deferred decisions to a contender's artifacts folder.

    Args:
        folder: the contender's artifacts folder.
        cls: the contender's class (must be importable by ``module:qualname``).
        seed: the contender's seed.
        params: its parameters (JSON-serializable after tuples become lists).
        symbols: the ``S`` symbols (array order).
        feature_names: the ``F`` feature names.
        lookback_bars: ``L``.

    Raises:
        OSError: if the folder cannot be written.
    """

    def __init__(
        self,
        folder: Path,
        cls: type,
        seed: int,
        params: Mapping[str, Any],
        symbols: tuple[str, ...],
        feature_names: tuple[str, ...],
        lookback_bars: int,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dtype = record_dtype(len(symbols), lookback_bars, len(feature_names))
        layout = {
            "format": _FORMAT,
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "seed": int(seed),
            "params": _jsonable(dict(params)),
            "symbols": list(symbols),
            "feature_names": list(feature_names),
            "lookback_bars": int(lookback_bars),
            "record_bytes": self.dtype.itemsize,
        }
        (self.folder / LAYOUT_FILE).write_text(json.dumps(layout, indent=1))
        path = self.folder / INPUTS_FILE
        # a new file per contender instance (a run with the same id replaces the records, as it does the
        # checkpoints); kept open for the run, unbuffered: one write per record
        self._fh = open(path, "wb", buffering=0)  # noqa: SIM115
        self._rec = np.zeros(1, dtype=self.dtype)

    def write(
        self, bar: int, ts_ns: int, version: int, serial: int, ok: np.ndarray, window: np.ndarray, held: np.ndarray
    ) -> None:
        """Append one record.

        Args:
            bar: the decision's bar index; ts_ns: its timestamp (ns UTC).
            version, serial: the checkpoint in force.
            ok: bool ``[S]``, the symbols with complete windows.
            window: float ``[S, L, F]`` windows ending at ``bar`` (rows not ok are ignored).
            held: float64 ``[S]`` portfolio weights (fraction of equity).
        """
        r = self._rec
        r["bar"], r["ts_ns"], r["version"], r["serial"] = bar, ts_ns, version, serial
        r["ok"][0] = ok
        r["X"][0] = np.where(ok[:, None, None], window, np.nan)
        r["held"][0] = held
        self._fh.write(r.tobytes())

    def close(self) -> None:
        """Close the file (records already written stay)."""
        self._fh.close()


def read_records(folder: str | Path) -> tuple[dict[str, Any], np.ndarray]:
    """The layout and every complete record of a contender's ``explain-inputs`` files.

    Returns:
        ``(layout dict, records)``: records is a structured array (see :func:`record_dtype`),
        in write order; a torn last record (a run killed mid-write) is left out.

    Raises:
        FileNotFoundError: if the folder has no inputs (the contender deferred nothing).
    """
    folder = Path(folder)
    layout = json.loads((folder / LAYOUT_FILE).read_text())
    dtype = record_dtype(len(layout["symbols"]), layout["lookback_bars"], len(layout["feature_names"]))
    raw = np.fromfile(folder / INPUTS_FILE, dtype=np.uint8)
    n = len(raw) // dtype.itemsize
    return layout, raw[: n * dtype.itemsize].view(dtype)


class HeldWeights:
    """The portfolio as a recorded decision saw it: ``weights`` {symbol: weight, fraction of equity}
    (what :class:`~contenders.portfolio.Portfolio.weights` gave then)."""

    __slots__ = ("_w",)

    def __init__(self, weights: Mapping[str, float]) -> None:
        self._w = dict(weights)

    @property
    def weights(self) -> dict[str, float]:
        """Symbol → weight (signed fraction of equity)."""
        return dict(self._w)


def checkpoint_path(folder: Path, version: int, serial: int) -> Path:
    """The checkpoint file of ``version`` (trained as ``serial``) in ``folder``:
    ``ckpt-<version>.pkl`` (since versions count every checkpoint saved, a file name names
    one model for good), or, in folders written before that, the kept ``ckpt-<version>.s<serial>.pkl``
    of a version that a rollback discarded.

    Raises:
        FileNotFoundError: if no file holds that checkpoint.
    """
    path = folder / f"ckpt-{version:04d}.pkl"
    if version == serial and path.exists():
        return path
    manifest_path = folder / "checkpoints.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        entries = manifest["checkpoints"] if isinstance(manifest, dict) else manifest
        for entry in entries:
            if int(entry["version"]) == version and int(entry.get("serial", serial)) == serial and path.exists():
                return path
    kept = folder / f"ckpt-{version:04d}.s{serial}.pkl"
    if kept.exists():
        return kept
    raise FileNotFoundError(f"{folder}: no checkpoint v{version:04d} (serial {serial}) to explain with")


class _Models:
    """A small per-process LRU of contenders restored from checkpoints (API / CLI reuse them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int, int], Any] = OrderedDict()

    def get(self, layout: Mapping[str, Any], path: Path) -> Any:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        module, _, qualname = str(layout["class"]).partition(":")
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        model = cls(seed=int(layout["seed"]), **layout["params"])
        with open(path, "rb") as fh:
            model.load_model_state(pickle.load(fh))  # noqa: S301 - the arena's own checkpoint file
        with self._lock:
            self._items[key] = model
            while len(self._items) > _MODEL_CACHE_SIZE:
                self._items.popitem(last=False)
        return model


_MODELS = _Models()


def explain_recorded(folder: str | Path, bar: int) -> tuple[Contribution, ...]:
    """Compute the explanation a learned contender deferred at ``bar``.

    Loads the checkpoint in force at that bar (cached per process), rebuilds the
    :class:`~contenders.ml.base.InferenceBatch` from the recorded windows and portfolio
    weights, and calls the model's ``predict`` with ``explain=True`` on the contender's
    ``torch_threads`` (restored after), as it would have run at decision time.

    Args:
        folder: the contender's artifacts folder.
        bar: the decision's bar index.

    Returns:
        The explanation lines (non-empty).

    Raises:
        FileNotFoundError: no inputs recorded, or the checkpoint file is gone.
        KeyError: no record for ``bar``.
        ValueError: if the model returns an empty explanation.
    """
    from contenders.ml.base import InferenceBatch

    folder = Path(folder)
    layout, records = read_records(folder)
    hits = np.flatnonzero(records["bar"] == int(bar))
    if not len(hits):
        raise KeyError(f"{folder}: no recorded inputs for bar {bar}")
    rec = records[hits[-1]]
    model = _MODELS.get(layout, checkpoint_path(folder, int(rec["version"]), int(rec["serial"])))
    symbols = tuple(layout["symbols"])
    ok = rec["ok"].astype(bool)
    batch = InferenceBatch(
        X=np.ascontiguousarray(rec["X"][ok], dtype=np.float32),
        symbols=tuple(s for s, k in zip(symbols, ok) if k),
        bar_idx=int(rec["bar"]),
        ts_ns=int(rec["ts_ns"]),
        feature_names=tuple(layout["feature_names"]),
        history=None,
        # the recorded weights stand in for the Portfolio (the learned contenders read only its .weights)
        portfolio=HeldWeights({s: float(w) for s, w in zip(symbols, rec["held"])}),  # type: ignore[arg-type]
        explain=True,
    )
    with _torch_threads(int(getattr(model, "torch_threads", 1))):
        pred = model.predict(batch)
    if not pred.explanation:
        raise ValueError(f"{type(model).__name__}.predict returned an empty explanation for bar {bar}")
    return tuple(pred.explanation)


class _torch_threads:
    """Run torch on ``n`` intra-op threads inside the block (as the contender did), if torch is loaded."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.before: int | None = None

    def __enter__(self) -> None:
        import sys

        torch = sys.modules.get("torch")
        if torch is not None:
            self.before = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        import sys

        torch = sys.modules.get("torch")
        if torch is not None and self.before is not None:
            torch.set_num_threads(self.before)

