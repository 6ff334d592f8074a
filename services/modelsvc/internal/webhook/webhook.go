// Package webhook is modelsvc's signed push endpoint, `POST /webhook/propose?source=<repo>`: the
// body is a tar.gz archive of the model directory, signed GitHub-style with the source's secret
// (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`). A verified archive becomes a proposal.
package webhook

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/datasurface/datasurface/services/modelsvc/internal/auth"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
	"github.com/datasurface/datasurface/services/modelsvc/internal/intake"
	"github.com/datasurface/datasurface/services/modelsvc/internal/propose"
)

// Path is where the handler is mounted.
const Path = "POST /webhook/propose"

// Handler serves the webhook.
type Handler struct {
	Secrets  *auth.Secrets
	Proposer *propose.Proposer
	// MaxBytes limits both the body and the expanded archive.
	MaxBytes int64
	Log      *slog.Logger
}

// Answer is the 202 body.
type Answer struct {
	ProposalID string `json:"proposalId"`
	Digest     string `json:"digest"`
}

// ServeHTTP handles one push. Nothing is stored or published unless the source is known and the
// signature verifies.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	source := r.URL.Query().Get("source")
	if !h.Secrets.Known(source) {
		// Do not read the body of an unknown sender.
		h.fail(w, r, failure.New(failure.Unauthenticated, "unknown source or bad signature"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.fail(w, r, failure.New(failure.TooLarge, "body is larger than the limit of %d bytes", h.MaxBytes))
			return
		}
		h.fail(w, r, failure.Invalid("body", "reading the body: %v", err))
		return
	}
	if err := h.Secrets.Verify(source, r.Header.Get("X-Hub-Signature-256"), body); err != nil {
		h.fail(w, r, err)
		return
	}
	snap, err := intake.ReadArchive(body, h.MaxBytes)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.Proposer.Propose(ctx, source, r.URL.Query().Get("commit"), snap)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, Answer{ProposalID: p.ID, Digest: p.Digest})
}

type problem struct {
	Detail string `json:"detail"`
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	f := failure.As(err)
	if f == nil {
		h.Log.ErrorContext(r.Context(), "webhook failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, problem{"internal error; see the modelsvc log"})
		return
	}
	status := http.StatusInternalServerError
	switch f.Kind {
	case failure.InvalidArgument:
		status = http.StatusBadRequest
	case failure.Unauthenticated, failure.PermissionDenied:
		status = http.StatusUnauthorized
	case failure.TooLarge:
		status = http.StatusRequestEntityTooLarge
	case failure.Unavailable:
		status = http.StatusServiceUnavailable
	}
	h.Log.WarnContext(r.Context(), "webhook refused", "source", r.URL.Query().Get("source"), "status", status, "reason", f.Msg)
	writeJSON(w, status, problem{f.Msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
