"""The QuestDB store's spool: batches that could not be sent wait here, on local disk.

One spool file per writing store, JSON lines, one batch a line
(``{"table": name, "rows": [...]}``, timestamps as int64 microseconds since the
epoch, UTC), appended and fsync'd before :meth:`Spool.append` returns. The
writer holds an exclusive ``flock`` on its file while it is open, so a later
writer can tell a leftover spool (nobody holds it: its writer ended while the
server was down) from a live one, and take the leftover over
(:func:`leftover_spools`). Re-sending is in file order; a line is dropped only
after it was sent, and the server's dedup keys make a re-send of a partly
delivered batch harmless.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pyarrow as pa

from arena.store.arrow import arrow_schema
from arena.store.schema import ColumnType, get_table

__all__ = ["SendBatch", "Spool", "decode_batch", "encode_batch", "leftover_spools"]

SendBatch = Callable[[str, pa.Table], None]
"""``send(table_name, batch)``; raises when the batch could not be delivered."""


def _wire_schema(table_name: str) -> pa.Schema:
    """The table's Arrow schema with timestamps as int64 microseconds (JSON-friendly)."""
    table = get_table(table_name)
    return pa.schema(
        [
            pa.field(c.name, pa.int64(), nullable=c.nullable) if c.type is ColumnType.TIMESTAMP else f
            for c, f in zip(table.columns, arrow_schema(table), strict=True)
        ]
    )


def encode_batch(table_name: str, batch: pa.Table) -> str:
    """One spool line (no newline) holding ``batch``."""
    plain = batch.cast(_wire_schema(table_name))
    return json.dumps({"table": table_name, "rows": plain.to_pylist()}, separators=(",", ":"))


def decode_batch(line: str, where: str) -> tuple[str, pa.Table]:
    """``(table_name, batch)`` from a spool line written by :func:`encode_batch`.

    Raises:
        ValueError: naming ``where`` (file and line) for a line that is not a spooled batch.
    """
    try:
        obj = json.loads(line)
        name = obj["table"]
        plain = pa.Table.from_pylist(obj["rows"], schema=_wire_schema(name))
    except (ValueError, KeyError, TypeError, pa.ArrowException) as exc:
        raise ValueError(f"{where}: not a spooled batch ({type(exc).__name__}: {exc})") from None
    return name, plain.cast(arrow_schema(get_table(name)))


class Spool:
    """An append-only, fsync'd file of unsent batches, locked by its owner.

    Args:
        path: the spool file; its folder is created. The file itself is created
            on the first :meth:`append` and removed once everything was re-sent.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None
        self.batches = 0

    def _open(self) -> IO[str]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until close
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                raise RuntimeError(f"spool {str(self.path)!r} is held by another writer") from None
            f.seek(0)
            self.batches = sum(1 for line in f if line.strip())
            self._file = f
        return self._file

    @property
    def pending(self) -> bool:
        """Whether batches wait in the file."""
        return self.batches > 0

    def append(self, table_name: str, batch: pa.Table) -> None:
        """Add one batch at the end and fsync it."""
        f = self._open()
        f.seek(0, os.SEEK_END)
        f.write(encode_batch(table_name, batch) + "\n")
        f.flush()
        os.fsync(f.fileno())
        self.batches += 1

    def replay(self, send: SendBatch) -> int:
        """Send every spooled batch in order; the file goes once all were sent.

        Returns:
            Batches sent.

        Raises:
            whatever ``send`` raises; the batches not yet sent stay in the file, in order.
            ValueError: for a line that is not a spooled batch (file and line named).
        """
        f = self._open()
        f.seek(0)
        lines = [line for line in f.read().splitlines() if line.strip()]
        sent = 0
        try:
            for i, line in enumerate(lines):
                name, batch = decode_batch(line, f"spool {str(self.path)!r}, line {i + 1}")
                send(name, batch)
                sent += 1
        finally:
            if sent:
                self._rewrite(lines[sent:])
        return sent

    def _rewrite(self, lines: list[str]) -> None:
        f = self._open()
        f.seek(0)
        f.truncate()
        if lines:
            f.write("\n".join(lines) + "\n")
        f.flush()
        os.fsync(f.fileno())
        self.batches = len(lines)

    def close(self) -> None:
        """Release the lock; an empty spool file is removed, a non-empty one stays."""
        if self._file is None:
            return
        if self.batches == 0:
            self.path.unlink(missing_ok=True)
        self._file.close()
        self._file = None


def leftover_spools(folder: Path) -> Iterator[Spool]:
    """Spools in ``folder`` whose writer is gone, each locked by the caller until closed."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.jsonl")):
        spool = Spool(path)
        try:
            spool._open()
        except (RuntimeError, FileNotFoundError):
            continue  # a live writer holds it, or it was just re-sent and removed
        yield spool

