"""The paper accounts' API keys, read from the environment, never from a config."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["KEY_ID_SUFFIX", "SECRET_KEY_SUFFIX", "PaperKeys", "read_keys"]

KEY_ID_SUFFIX = "_API_KEY_ID"
SECRET_KEY_SUFFIX = "_API_SECRET_KEY"


@dataclass(frozen=True)
class PaperKeys:
    """One paper account's key pair. Its ``repr`` shows the variable names only, so the keys
    never reach a log line or an error message."""

    prefix: str
    key_id: str = field(repr=False)
    secret_key: str = field(repr=False)


def read_keys(mirror: Mapping[str, str], env: Mapping[str, str] | None = None) -> dict[str, PaperKeys]:
    """The keys of every mirrored contender, from ``<PREFIX>_API_KEY_ID`` and
    ``<PREFIX>_API_SECRET_KEY``.

    Args:
        mirror: contender name → key variable prefix (config ``broker.mirror``).
        env: the environment (default ``os.environ``).

    Returns:
        contender name → :class:`PaperKeys`.

    Raises:
        ValueError: naming every variable that is unset or empty, and the contender it is for.
    """
    env = os.environ if env is None else env
    out: dict[str, PaperKeys] = {}
    missing: list[str] = []
    for name, prefix in mirror.items():
        key_var, secret_var = prefix + KEY_ID_SUFFIX, prefix + SECRET_KEY_SUFFIX
        gone = [v for v in (key_var, secret_var) if not env.get(v)]
        missing.extend(f"{v} (for contender {name!r})" for v in gone)
        if not gone:
            out[name] = PaperKeys(prefix, env[key_var], env[secret_var])
    if missing:
        raise ValueError(
            "broker.mirror: the paper account keys are not set in the environment: " + ", ".join(missing)
            + "; export them (Alpaca's paper dashboard → API keys) or remove the contender from broker.mirror"
        )
    return out
