# Sourced by the build scripts beside it: sets go_bin to $GO, else go on PATH, else the usual
# install location, and fails with a clear message when there is none.
go_bin="${GO:-}"
if [[ -z "$go_bin" ]]; then
  if command -v go >/dev/null 2>&1; then go_bin="$(command -v go)"; else go_bin=/usr/local/go/bin/go; fi
fi
if [[ ! -x "$go_bin" ]]; then
  echo "$(basename "$0"): Go is needed (looked for \$GO, go on PATH, /usr/local/go/bin/go)" >&2
  exit 1
fi
