package main

import (
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/platforms/yellow/ylint"
)

// platformRules returns the lint rules of every platform kind datasurface ships (spec/model.md
// §7.8), applied by `validate` (to head and base) and `model lint`.
func platformRules() []lint.PlatformRules {
	return []lint.PlatformRules{ylint.New()}
}
