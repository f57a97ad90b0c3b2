"""The page's third-party files (serve/static/vendor) are exactly what web/package-lock.json pins:
each checked-in file's sha256 equals MANIFEST.json's, and each package's version and tarball
integrity in MANIFEST.json equal the lock file's (scripts/build_web.sh writes both from `npm ci`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "serve" / "static" / "vendor"
LOCK = REPO / "web" / "package-lock.json"


def _manifest() -> dict:
    return json.loads((VENDOR / "MANIFEST.json").read_text())


def test_every_vendored_file_has_the_manifests_sha256() -> None:
    manifest = _manifest()
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()} - {"MANIFEST.json"}
    listed = {f"{pkg}/{name}" for pkg, entry in manifest.items() for name in entry["files"]}
    assert on_disk == listed
    for pkg, entry in manifest.items():
        for name, sha in entry["files"].items():
            assert hashlib.sha256((VENDOR / pkg / name).read_bytes()).hexdigest() == sha, f"{pkg}/{name}"


def test_manifest_matches_the_lock_file_and_package_json() -> None:
    lock = json.loads(LOCK.read_text())
    wanted = json.loads((REPO / "web" / "package.json").read_text())["dependencies"]
    manifest = _manifest()
    assert set(manifest) == set(wanted)
    for pkg, entry in manifest.items():
        locked = lock["packages"][f"node_modules/{pkg}"]
        assert entry["version"] == locked["version"] == wanted[pkg], pkg  # exact pins, no ranges
        assert entry["integrity"] == locked["integrity"] and entry["integrity"].startswith("sha512-"), pkg
        assert {"LICENSE"} <= set(entry["files"]), f"{pkg}: its license travels with it"
    assert "NOTICE" in manifest["lightweight-charts"]["files"], "Apache-2.0 attribution notice"
