// Package kit is reserved; see the README for what it will own.
package kit
