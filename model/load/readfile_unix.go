//go:build unix

package load

import (
	"errors"
	"io/fs"
	"syscall"
)

// readFile reads the whole file name with as few system calls as the kernel allows: open, read
// until end of file, close. os.ReadFile also stats the file and registers it with the runtime's
// poller (set non-blocking, epoll_ctl), about twice the calls, which on a model of 13,000 files
// is a good part of loading the unchanged head of a change. The content is read into *scratch
// (grown as needed) and returned from there: transient, valid until the next call with the same
// scratch.
func readFile(name string, scratch *[]byte) (content []byte, transient bool, err error) {
	var fd int
	for {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, false, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	buf := (*scratch)[:0]
	if cap(buf) < 64<<10 {
		buf = make([]byte, 0, 64<<10)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			*scratch = buf
			return nil, false, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	*scratch = buf
	return buf, true, nil
}
