#!/usr/bin/env bash
# Builds the example plugins of examples/plugins into OUT_DIR/<name>/ (make plugins), each folder ready
# to copy into the server's CM_PLUGIN_DIR:
#   - a folder with Go files is a WebAssembly plugin: plugin.json and the module, built with
#     GOOS=wasip1 GOARCH=wasm -buildmode=c-shared under the name plugin.json gives it (wasm.module,
#     plugin.wasm by default);
#   - a folder with Python files is a process plugin: plugin.json, its *.py files and the Python
#     helper, pkg/plugin/python/concertmaster_plugin.py, which is kept in that one place.
#
#   scripts/build-plugins.sh [OUT_DIR [NAME...]]    # OUT_DIR: bin/plugins; NAMEs: every example
#
# It needs Go and python3, nothing else. Each plugin is built in a staging folder next to its target
# and moved into place, so a server watching OUT_DIR never loads half a plugin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}
out=${1:-$root/bin/plugins}
[ $# -gt 0 ] && shift
mkdir -p "$out"
out=$(cd "$out" && pwd)
helper=$root/pkg/plugin/python/concertmaster_plugin.py

if [ $# -gt 0 ]; then
  names=("$@")
else
  names=()
  for dir in "$root"/examples/plugins/*/; do
    [ -f "$dir/plugin.json" ] && names+=("$(basename "$dir")")
  done
fi

stage=
trap '[ -n "$stage" ] && rm -rf "$stage"' EXIT

for name in "${names[@]}"; do
  src=$root/examples/plugins/$name
  if [ ! -f "$src/plugin.json" ]; then
    echo "build-plugins: examples/plugins/$name has no plugin.json" >&2
    exit 1
  fi
  stage=$(mktemp -d "$out/.$name.XXXXXX")
  cp "$src/plugin.json" "$stage/"
  if compgen -G "$src/*.go" >/dev/null; then
    module=$(python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print((m.get("wasm") or {}).get("module") or "plugin.wasm")' "$src/plugin.json")
    mkdir -p "$(dirname "$stage/$module")"
    (cd "$src" && GOOS=wasip1 GOARCH=wasm "$GO" build -trimpath -buildmode=c-shared -o "$stage/$module" .)
  elif compgen -G "$src/*.py" >/dev/null; then
    cp "$src"/*.py "$helper" "$stage/"
  else
    echo "build-plugins: examples/plugins/$name has neither Go nor Python files" >&2
    exit 1
  fi
  chmod 755 "$stage"
  rm -rf "${out:?}/$name"
  mv "$stage" "$out/$name"
  stage=
  echo "built $out/$name"
done
