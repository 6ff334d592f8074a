// Package e2e holds the end-to-end tests of datasurface: real components (an in-process NATS
// JetStream server, a real Postgres from the system binaries) and the services wired as
// `datasurface serve` wires them, driven through their public APIs. The control plane's round
// trip is controlplane_test.go.
package e2e
