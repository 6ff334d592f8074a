#!/usr/bin/env bash
# Installs the pinned Temporal CLI (its `temporal server start-dev` is the Temporal server of
# `datasurface dev` and of the tests; docs/adr/0004-temporal-for-dev-and-tests.md) into bin/ of
# the repository, unless bin/temporal already reports that version. Built from the Go module
# proxy: about 2.5 minutes and 250 MB the first time, seconds with a warm build cache.
#
# Usage: tools/install-temporal.sh [BIN_DIR]   (default: <repo>/bin)
set -euo pipefail

TEMPORAL_CLI_VERSION=v1.5.1 # keep in step with kit/temporalserver.Version

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$root/bin}"
want="${TEMPORAL_CLI_VERSION#v}"

# A binary built by `go install` prints 0.0.0-DEV for --version; its build info has the version.
installed() {
	[[ -x "$bin/temporal" ]] || return 1
	go version -m "$bin/temporal" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/temporalio/cli[[:space:]]+$TEMPORAL_CLI_VERSION([[:space:]]|$)" && return 0
	"$bin/temporal" --version 2>/dev/null | grep -Eq "^temporal version ${want//./\\.}( |$)"
}

if installed; then
	echo "temporal $TEMPORAL_CLI_VERSION already in $bin/"
	exit 0
fi
echo "installing github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION into $bin/ (first build takes minutes)"
mkdir -p "$bin"
# @latest does not resolve (a replace directive in the CLI's go.mod): the version is pinned.
GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="${GOFLAGS:--buildvcs=false}" GOBIN="$bin" \
	go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
installed || { echo "bin/temporal does not report $TEMPORAL_CLI_VERSION" >&2; exit 1; }
echo "temporal $TEMPORAL_CLI_VERSION installed in $bin/"
