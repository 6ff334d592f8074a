// Package validator is reserved; see the README for what it will own.
package validator
