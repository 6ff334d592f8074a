// Package examples embeds the example models of the repository, so that `datasurface dev` can
// push examples/acme on a machine that has only the binary.
package examples

import "embed"

// Acme is the example model examples/acme; its files live under the directory "acme".
//
//go:embed acme
var Acme embed.FS
