#!/usr/bin/env bash
# Refreshes the chart's copies of the repository's catalog, routing, tenants, alert rules and
# mesh manifests (listed in synced-files.txt beside this script). Run it after changing any of
# them; test/deploy/helm.test.ts fails while a copy is stale.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chart="$here/llm-gateway"

while read -r source copy; do
  [[ -z "$source" || "$source" == \#* ]] && continue
  if [[ "$source" == */\*.yaml ]]; then
    dir="${source%/\*.yaml}"
    mkdir -p "$chart/$copy"
    # The copy folder mirrors the source: files removed there go here too.
    find "$chart/$copy" -maxdepth 1 -type f -name '*.yaml' -delete
    shopt -s nullglob
    files=("$root/$dir"/*.yaml)
    shopt -u nullglob
    for f in "${files[@]}"; do cp "$f" "$chart/$copy/"; done
    echo "$dir/*.yaml -> $copy (${#files[@]} files)"
  else
    mkdir -p "$(dirname "$chart/$copy")"
    cp "$root/$source" "$chart/$copy"
    echo "$source -> $copy"
  fi
done < "$here/synced-files.txt"
