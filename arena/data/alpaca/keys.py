"""Alpaca API keys, read from the environment only.

The keys come from ``APCA_API_KEY_ID`` and ``APCA_API_SECRET_KEY`` (the names alpaca-py
uses). They are never read from a config, and :class:`AlpacaKeys` never shows the secret:
its ``repr`` masks both values, so a log line or an error that prints it leaks nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from arena.secrets import MASK

__all__ = ["KEY_ID_ENV", "SECRET_KEY_ENV", "AlpacaAuthError", "AlpacaKeys", "keys_from_env", "rejected_key_error"]

KEY_ID_ENV = "APCA_API_KEY_ID"
SECRET_KEY_ENV = "APCA_API_SECRET_KEY"


class AlpacaAuthError(RuntimeError):
    """The Alpaca keys are missing or were rejected; the message names the variables to set."""


@dataclass(frozen=True, slots=True)
class AlpacaKeys:
    """An Alpaca key pair. ``repr`` and ``str`` show neither value.

    Attributes:
        key_id: the API key id (``APCA_API_KEY_ID``).
        secret_key: the API secret (``APCA_API_SECRET_KEY``).
    """

    key_id: str = field(repr=False)
    secret_key: str = field(repr=False)

    def __repr__(self) -> str:
        return f"AlpacaKeys(key_id={MASK}, secret_key={MASK})"

    __str__ = __repr__


def keys_from_env(env: Mapping[str, str] | None = None) -> AlpacaKeys:
    """The key pair from ``APCA_API_KEY_ID`` and ``APCA_API_SECRET_KEY``.

    Args:
        env: the environment to read (default ``os.environ``).

    Raises:
        AlpacaAuthError: a variable is unset or empty (the message names which).
    """
    env = os.environ if env is None else env
    missing = [name for name in (KEY_ID_ENV, SECRET_KEY_ENV) if not env.get(name, "").strip()]
    if missing:
        raise AlpacaAuthError(
            f"Alpaca keys missing: set {' and '.join(missing)} in the environment (the key pair of your "
            "Alpaca account, https://app.alpaca.markets; keys never go in a config file)"
        )
    return AlpacaKeys(env[KEY_ID_ENV].strip(), env[SECRET_KEY_ENV].strip())


def rejected_key_error(status: int | None, where: str) -> AlpacaAuthError:
    """The error for keys that ``where`` (a URL, no credentials in it) refused with HTTP ``status``."""
    code = f"HTTP {status}" if status is not None else "refused"
    return AlpacaAuthError(
        f"Alpaca rejected the API keys ({code} from {where}): check {KEY_ID_ENV} and {SECRET_KEY_ENV} "
        "(a paper account's keys work for market data; live and paper keys differ)"
    )
