#!/usr/bin/env bash
# Installs the pinned MinIO server (the raw batch archive of the tests and of `datasurface dev`)
# into bin/ of the repository, unless bin/minio already has that module version. MinIO has no
# tagged Go module versions; the pseudo-version below is pinned so every machine builds the same
# server. Built from the Go module proxy: about 2 minutes and 150 MB the first time.
#
# Usage: tools/install-minio.sh [BIN_DIR]   (default: <repo>/bin)
set -euo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$root/bin}"

installed() {
	[[ -x "$bin/minio" ]] || return 1
	go version -m "$bin/minio" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/minio/minio[[:space:]]+$MINIO_VERSION([[:space:]]|$)"
}

if installed; then
	echo "minio $MINIO_VERSION already in $bin/"
	exit 0
fi
echo "installing github.com/minio/minio@$MINIO_VERSION into $bin/ (first build takes minutes)"
mkdir -p "$bin"
GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="${GOFLAGS:--buildvcs=false}" GOBIN="$bin" \
	go install "github.com/minio/minio@$MINIO_VERSION"
installed || { echo "bin/minio is not $MINIO_VERSION" >&2; exit 1; }
echo "minio $MINIO_VERSION installed in $bin/"
