package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

const healthcheckSynopsis = `datasurface healthcheck [--url <url>] [--timeout <duration>]

Asks a running 'datasurface serve' whether it is healthy, for container health checks in images
without curl (Docker HEALTHCHECK, Swarm healthcheck). Exit code 0 when the endpoint answers
200 OK; 1 otherwise (not reachable, timed out, any other status, or a bad command line), with
the reason on stderr. The default URL is the readiness endpoint of serve's default port;
use /healthz for liveness.`

// healthcheckBodyLimit is how much of a failing answer's body the message quotes.
const healthcheckBodyLimit = 200

func (c *cli) healthcheck(ctx context.Context, args []string) error {
	fs := c.newFlagSet("healthcheck", healthcheckSynopsis)
	rawURL := fs.String("url", "http://127.0.0.1:8080/readyz", "the `url` to GET (http or https)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the answer (`duration`)")
	if err := parse(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		// Docker reserves exit code 2 of a health check: every failure is 1.
		return &exitError{Code: exitProblems}
	}
	if fs.NArg() > 0 {
		return healthFailed(fmt.Errorf("healthcheck: unexpected argument %q", fs.Arg(0)))
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return healthFailed(fmt.Errorf("healthcheck: --url %q is not an http(s) URL with a host", *rawURL))
	}
	if *timeout <= 0 {
		return healthFailed(fmt.Errorf("healthcheck: --timeout must be positive, not %s", *timeout))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return healthFailed(fmt.Errorf("healthcheck %s: %w", redactURL(*rawURL), err))
	}
	client := &http.Client{
		// A redirect is not an answer of the service itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return healthFailed(fmt.Errorf("healthcheck %s: no answer within %s", redactURL(*rawURL), *timeout))
		}
		return healthFailed(fmt.Errorf("healthcheck: %w", err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, healthcheckBodyLimit))
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("healthcheck %s: %s", redactURL(*rawURL), resp.Status)
		if b := printable(string(body)); b != "" {
			msg += ": " + b
		}
		return healthFailed(errors.New(msg))
	}
	_, err = fmt.Fprintf(c.stdout, "ok: %s answered %s\n", redactURL(*rawURL), resp.Status)
	return err
}

// healthFailed is a failed health check: exit code 1 with the reason on stderr.
func healthFailed(err error) error {
	return &exitError{Code: exitProblems, Err: err}
}

// printable keeps the first line of s without control characters, trimmed.
func printable(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s))
}
