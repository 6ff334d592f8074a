// Package ingest is reserved; see the README for what it will own.
package ingest
