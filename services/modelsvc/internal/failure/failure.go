// Package failure owns the typed errors that modelsvc's domain code returns: what went wrong from
// the caller's point of view (a bad argument, an unknown object, not ready yet, …). Only the
// handlers (Connect, webhook, compatibility endpoint) turn them into status codes.
package failure

import (
	"errors"
	"fmt"
)

// Kind classifies a failure.
type Kind int

// Kinds of failures.
const (
	// Internal is anything else: a broken dependency, a bug.
	Internal Kind = iota
	// InvalidArgument: a request field is missing or malformed (Field names it).
	InvalidArgument
	// NotFound: the named object does not exist in the model version that was read.
	NotFound
	// VersionNotFound: the requested model version was never committed (Latest says which is).
	VersionNotFound
	// Unavailable: no committed model is loaded yet, or the service is still starting.
	Unavailable
	// Unauthenticated: no credential or an unknown one.
	Unauthenticated
	// PermissionDenied: a valid credential that may not do this.
	PermissionDenied
	// TooLarge: the request exceeds a size limit.
	TooLarge
)

// Error is a failure with a message meant for the caller.
type Error struct {
	Kind Kind
	// Field is the request field an InvalidArgument failure is about.
	Field string
	// Latest is the latest committed version, for VersionNotFound.
	Latest int64
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// KindOf returns the kind of err's failure, Internal when err carries none.
func KindOf(err error) Kind {
	var f *Error
	if errors.As(err, &f) {
		return f.Kind
	}
	return Internal
}

// As returns err's failure, or nil.
func As(err error) *Error {
	var f *Error
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// Required reports a missing or empty request field.
func Required(field string) *Error {
	return &Error{Kind: InvalidArgument, Field: field, Msg: field + " is required"}
}

// InvalidName reports a value that is not a valid name of its kind.
func InvalidName(field, value string) *Error {
	return &Error{Kind: InvalidArgument, Field: field, Msg: fmt.Sprintf("%s '%s' is not a valid name", field, value)}
}

// Invalid reports a malformed request field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: InvalidArgument, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// NotFoundf reports an unknown object: "{Kind} '{name}' not found".
func NotFoundf(kind, name string) *Error {
	return &Error{Kind: NotFound, Msg: fmt.Sprintf("%s '%s' not found", kind, name)}
}

// NoVersion reports a model version that was never committed.
func NoVersion(v, latest int64) *Error {
	return &Error{Kind: VersionNotFound, Latest: latest, Msg: fmt.Sprintf("model version %d not found; the latest is %d", v, latest)}
}

// Unavailablef reports that the service cannot answer yet.
func Unavailablef(format string, args ...any) *Error {
	return &Error{Kind: Unavailable, Msg: fmt.Sprintf(format, args...)}
}

// New returns a failure of kind k.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}
