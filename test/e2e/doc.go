// Package e2e is reserved; see the README for what it will own.
package e2e
