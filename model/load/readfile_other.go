//go:build !unix

package load

import "os"

// readFile reads the whole file name (see readfile_unix.go).
func readFile(name string, _ *[]byte) (content []byte, transient bool, err error) {
	content, err = os.ReadFile(name)
	return content, false, err
}
