"""Credentials are redacted in what is printed, stored and served (arena.secrets)."""

from __future__ import annotations

from arena.secrets import MASK, redact, redact_url


def test_a_url_password_is_masked_and_the_rest_kept():
    assert redact_url("redis://:pw@127.0.0.1:6379/0") == f"redis://:{MASK}@127.0.0.1:6379/0"
    assert redact_url("questdb://admin:quest@db.example:9000") == f"questdb://admin:{MASK}@db.example:9000"
    assert redact_url("rediss://user@host/1") == "rediss://user@host/1", "no password, nothing to hide"
    assert redact_url("duckdb://runs/arena.duckdb") == "duckdb://runs/arena.duckdb"


def test_secret_named_keys_are_masked_wherever_they_are():
    cfg = {
        "events": "redis://:pw@h:6379/0",
        "contenders": [{"name": "x", "params": {"api_key": "k", "passes": 3, "max_tokens": 5}}],
        "alpaca": {"secret_key": "s", "token": ""},
    }
    out = redact(cfg)
    assert out["events"] == f"redis://:{MASK}@h:6379/0"
    assert out["contenders"][0]["params"] == {"api_key": MASK, "passes": 3, "max_tokens": 5}
    assert out["alpaca"] == {"secret_key": MASK, "token": ""}, "an empty value hides nothing"
    assert cfg["events"] == "redis://:pw@h:6379/0", "the input is left as it was"
