// Package modelload is modelsvc's one use of the model loader: the digest of a snapshot (the
// loader's rule, spec/model.md §1) and the canonical model of a committed snapshot.
package modelload

import (
	"errors"
	"fmt"

	"github.com/datasurface/datasurface/model/load"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func files(snap *modelv1.Snapshot) []load.File {
	out := make([]load.File, 0, len(snap.GetFiles()))
	for _, f := range snap.GetFiles() {
		out = append(out, load.File{Path: f.GetPath(), Content: f.GetContent()})
	}
	return out
}

// Digest returns the loader's digest of snap ("sha256:…").
func Digest(snap *modelv1.Snapshot) (string, error) {
	res, err := load.Files(files(snap), load.Options{})
	if res != nil && res.Digest != "" {
		return res.Digest, nil
	}
	if err == nil {
		err = errors.New("the loader returned no digest")
	}
	return "", fmt.Errorf("digest snapshot: %w", err)
}

// Model loads snap and returns its canonical model and digest. A committed snapshot passed the
// gate, so a missing model is an error.
func Model(snap *modelv1.Snapshot) (*modelv1.Model, string, error) {
	res, err := load.Files(files(snap), load.Options{})
	if err != nil {
		return nil, "", fmt.Errorf("load snapshot: %w", err)
	}
	if res.Model == nil {
		return nil, "", fmt.Errorf("load snapshot: no model (%d problems)", len(res.Problems))
	}
	return res.Model, res.Digest, nil
}
