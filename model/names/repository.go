package names

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxRepositoryName is the longest `owner/name` repository location, in bytes.
const MaxRepositoryName = 100

// Repository is a parsed repository reference `<location>@<branch>` (spec/model.md §4.1).
type Repository struct {
	// Location is `owner/name` or an absolute URL.
	Location string
	// Branch is the text after the last '@'.
	Branch string
	// IsURL is true when Location is a URL (it contains "://").
	IsURL bool
}

// String renders the reference back as `location@branch`.
func (r Repository) String() string { return r.Location + "@" + r.Branch }

// RepositoryError says why the location part of a repository reference (or the reference as a
// whole) is invalid.
type RepositoryError struct {
	Ref    string // the whole reference
	Reason string
}

func (e *RepositoryError) Error() string {
	return fmt.Sprintf("repository %q is invalid: %s", e.Ref, e.Reason)
}

// BranchError says why the branch of a repository reference is invalid.
type BranchError struct {
	Branch string
	Reason string
}

func (e *BranchError) Error() string {
	return fmt.Sprintf("branch %q is invalid: %s", e.Branch, e.Reason)
}

// ParseRepository parses and validates a repository reference. The error is a *RepositoryError,
// a *BranchError, or both joined (errors.As finds each) when location and branch are both
// invalid. Two references name the same repository iff their strings are byte-equal.
func ParseRepository(ref string) (Repository, error) {
	at := strings.LastIndexByte(ref, '@')
	if at < 0 {
		return Repository{}, &RepositoryError{Ref: ref, Reason: "it must be <location>@<branch>"}
	}
	r := Repository{Location: ref[:at], Branch: ref[at+1:], IsURL: strings.Contains(ref[:at], "://")}
	var errs []error
	var reason string
	if r.IsURL {
		reason = urlLocationProblem(r.Location)
	} else {
		reason = ownerNameProblem(r.Location)
	}
	if reason != "" {
		errs = append(errs, &RepositoryError{Ref: ref, Reason: reason})
	}
	if reason := BranchProblem(r.Branch); reason != "" {
		errs = append(errs, &BranchError{Branch: r.Branch, Reason: reason})
	}
	switch len(errs) {
	case 0:
		return r, nil
	case 1:
		return r, errs[0]
	}
	return r, errors.Join(errs...)
}

// ownerNameProblem validates an `owner/name` location and returns why it is invalid, or "".
func ownerNameProblem(loc string) string {
	switch {
	case loc == "":
		return "the location before '@' is empty"
	case len(loc) > MaxRepositoryName:
		return fmt.Sprintf("owner/name is longer than %d characters", MaxRepositoryName)
	}
	slash := strings.IndexByte(loc, '/')
	if slash < 0 || strings.IndexByte(loc[slash+1:], '/') >= 0 {
		return "the location must be owner/name (exactly one '/') or a URL"
	}
	if slash == 0 || slash == len(loc)-1 {
		return "owner and name must both be non-empty"
	}
	for i := 0; i < len(loc); i++ {
		if c := loc[i]; c != '/' && !isRefChar(c) {
			return fmt.Sprintf("character %s is not allowed in owner/name", quoteChar(loc, i))
		}
	}
	owner, name := loc[:slash], loc[slash+1:]
	switch {
	case strings.Contains(loc, ".."):
		return "'..' is not allowed"
	case owner[0] == '-' || owner[len(owner)-1] == '-' || name[0] == '-' || name[len(name)-1] == '-':
		return "owner and name must not start or end with '-'"
	}
	return ""
}

// urlLocationProblem validates a URL location and returns why it is invalid, or "".
func urlLocationProblem(loc string) string {
	u, err := url.Parse(loc)
	switch {
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "the URL does not parse: " + err.Error()
	case u.Scheme == "":
		return "the URL has no scheme"
	case u.Hostname() == "":
		return "the URL has no host"
	}
	return ""
}

// BranchProblem validates a branch name (spec/model.md §4.1) and returns why it is invalid, or
// "": non-empty, characters [A-Za-z0-9_.-], no "..", must not start with '-' or end with '.'.
func BranchProblem(b string) string {
	if b == "" {
		return "it is empty"
	}
	for i := 0; i < len(b); i++ {
		if !isRefChar(b[i]) {
			return fmt.Sprintf("character %s is not allowed", quoteChar(b, i))
		}
	}
	switch {
	case strings.Contains(b, ".."):
		return "'..' is not allowed"
	case b[0] == '-':
		return "it must not start with '-'"
	case b[len(b)-1] == '.':
		return "it must not end with '.'"
	}
	return ""
}

// isRefChar reports whether c is one of [A-Za-z0-9_.-].
func isRefChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' || c == '.' || c == '-' }

// quoteChar renders the character starting at byte i of s for a message: '/' or U+00E9 'é'.
func quoteChar(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	if r < 0x80 && r > 0x20 && r != 0x7f {
		return "'" + string(r) + "'"
	}
	return fmt.Sprintf("%U", r)
}
