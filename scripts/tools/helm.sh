#!/usr/bin/env bash
# Prints the path of a pinned Helm, building it once from the Go module proxy into .tools/bin
# (git-ignored). Later calls reuse the binary; Go's own build cache (outside the repository) makes
# a rebuild in a fresh clone fast. Used by test/deploy/helm.test.ts and by hand:
#   "$(scripts/tools/helm.sh)" template deploy/helm/llm-gateway
set -euo pipefail

HELM_VERSION=v3.22.0

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin_dir="$root/.tools/bin"
helm="$bin_dir/helm"

# The binary reports the version it was built as; anything else (an older pin, a stray file) is rebuilt.
if [[ -x "$helm" ]] && [[ "$("$helm" version --template '{{.Version}}' 2>/dev/null || true)" == "$HELM_VERSION" ]]; then
  echo "$helm"
  exit 0
fi

# shellcheck source=find-go.sh
source "$(dirname "${BASH_SOURCE[0]}")/find-go.sh"

# Helm's own release build stamps its version and the Kubernetes version its client libraries
# speak (the default for `helm template` and `helm lint`); without them it would claim v1.20.
mod_file="$("$go_bin" mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
client_go="$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$mod_file" | head -n 1)"
if [[ -z "$client_go" ]]; then
  echo "scripts/tools/helm.sh: cannot read the k8s.io/client-go version from $mod_file" >&2
  exit 1
fi
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in pkg/chartutil pkg/lint/rules; do
  ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$client_go"
done

# Built into a private directory and renamed into place, so two builds at once never leave half a binary.
mkdir -p "$bin_dir"
staging="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
echo "scripts/tools/helm.sh: building Helm $HELM_VERSION (once; the first build takes a few minutes)" >&2
started=$SECONDS
GOBIN="$staging" GOFLAGS=-mod=mod CGO_ENABLED=0 "$go_bin" install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
mv -f "$staging/helm" "$helm"
echo "scripts/tools/helm.sh: built $helm in $((SECONDS - started)) s" >&2
echo "$helm"
