#!/usr/bin/env bash
# Builds the offline manifest validator (deploy/helm/validate, pinned Go modules) into .tools/bin
# and prints its path. Go rebuilds only what changed, so calling it every time costs a second.
#   helm template ... | "$(scripts/tools/k8s-validate.sh)"
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=find-go.sh
source "$(dirname "${BASH_SOURCE[0]}")/find-go.sh"

mkdir -p "$root/.tools/bin"
out="$root/.tools/bin/k8s-validate"
staging="$(mktemp "$out.XXXXXX")"
trap 'rm -f "$staging"' EXIT
(cd "$root/deploy/helm/validate" && GOFLAGS=-mod=mod CGO_ENABLED=0 "$go_bin" build -trimpath -buildvcs=false -o "$staging" .) >&2
mv -f "$staging" "$out"
echo "$out"
