#!/usr/bin/env bash
# Rebuild serve/static/vendor/ (the arena page's third-party JavaScript and CSS, checked in)
# byte for byte from web/package-lock.json:
#
#   scripts/build_web.sh          npm ci in web/, then copy the files below and write MANIFEST.json
#
# Every vendored file is copied unchanged from the npm tarball the lock file pins (its
# sha512 `integrity`), with the package's license and notice files. MANIFEST.json records,
# per package, the version and integrity from the lock file and each copied file's sha256;
# tests/web/test_vendored_assets.py checks the checked-in files against it and the lock file.
# Needs node and npm (the npm registry); the app's own JavaScript (serve/static/*.js) is
# hand-written and needs no build.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$REPO/web"
OUT="$REPO/serve/static/vendor"

command -v npm >/dev/null 2>&1 || { echo "build_web.sh: npm is needed (Debian: apt-get install -y npm)" >&2; exit 1; }

(cd "$WEB" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

# package  file in the package  (→ $OUT/<package>/<basename>)
FILES=(
    "lightweight-charts dist/lightweight-charts.standalone.production.mjs"
    "lightweight-charts LICENSE"
    "swagger-ui-dist swagger-ui-bundle.js"
    "swagger-ui-dist swagger-ui-bundle.js.LICENSE.txt"
    "swagger-ui-dist swagger-ui.css"
    "swagger-ui-dist favicon-32x32.png"
    "swagger-ui-dist LICENSE"
    "swagger-ui-dist NOTICE"
    "redoc bundles/redoc.standalone.js"
    "redoc bundles/redoc.standalone.js.LICENSE.txt"
    "redoc LICENSE"
)

rm -rf "$OUT"
for entry in "${FILES[@]}"; do
    read -r pkg file <<<"$entry"
    mkdir -p "$OUT/$pkg"
    cp "$WEB/node_modules/$pkg/$file" "$OUT/$pkg/$(basename "$file")"
done
# lightweight-charts' NOTICE (its attribution notice, Apache-2.0 section 4(d)) is in the
# upstream repository but not in the npm tarball
cp "$WEB/notices/lightweight-charts.NOTICE" "$OUT/lightweight-charts/NOTICE"

node - "$WEB" "$OUT" <<'JS'
const fs = require("fs"), path = require("path"), crypto = require("crypto");
const [web, out] = process.argv.slice(2);
const lock = JSON.parse(fs.readFileSync(path.join(web, "package-lock.json"), "utf8"));
const manifest = {};
for (const pkg of fs.readdirSync(out).sort()) {
  const entry = lock.packages[`node_modules/${pkg}`];
  const files = {};
  for (const name of fs.readdirSync(path.join(out, pkg)).sort()) {
    const bytes = fs.readFileSync(path.join(out, pkg, name));
    files[name] = crypto.createHash("sha256").update(bytes).digest("hex");
  }
  manifest[pkg] = { version: entry.version, integrity: entry.integrity, license: entry.license, files };
}
fs.writeFileSync(path.join(out, "MANIFEST.json"), JSON.stringify(manifest, null, 2) + "\n");
JS
echo "build_web.sh: wrote $OUT ($(du -sh "$OUT" | cut -f1))"
