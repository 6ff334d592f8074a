// Command protocomments extracts the leading comments of the messages, fields, enums and enum
// values of one proto package from a FileDescriptorSet with source info (`buf build
// --as-file-descriptor-set -o -`) into a JSON object keyed by full name. model/schema embeds the
// result as the descriptions of its JSON Schema, because generated Go descriptors carry no
// comments.
//
//	buf build proto --as-file-descriptor-set -o - | protocomments -package datasurface.model.v1 -o comments.json
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "protocomments:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("protocomments", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pkg := fs.String("package", "", "proto package whose comments to extract (required)")
	out := fs.String("o", "", "output file (default: stdout); written only on success")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pkg == "" {
		return errors.New("-package is required")
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		return err
	}
	b, err := extract(in, protoreflect.FullName(*pkg))
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}

// extract returns the comments of package pkg as indented JSON with sorted keys.
func extract(set []byte, pkg protoreflect.FullName) ([]byte, error) {
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(set, &fds); err != nil {
		return nil, fmt.Errorf("read descriptor set: %w", err)
	}
	files, err := protodesc.NewFiles(&fds)
	if err != nil {
		return nil, fmt.Errorf("link descriptor set: %w", err)
	}
	comments := map[string]string{}
	sawSource := false
	files.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
		if fd.SourceLocations().Len() > 0 {
			sawSource = true
		}
		add := func(d protoreflect.Descriptor) {
			if c := clean(fd.SourceLocations().ByDescriptor(d).LeadingComments); c != "" {
				comments[string(d.FullName())] = c
			}
		}
		var messages func(ms protoreflect.MessageDescriptors)
		enums := func(es protoreflect.EnumDescriptors) {
			for i := range es.Len() {
				e := es.Get(i)
				add(e)
				for j := range e.Values().Len() {
					add(e.Values().Get(j))
				}
			}
		}
		messages = func(ms protoreflect.MessageDescriptors) {
			for i := range ms.Len() {
				m := ms.Get(i)
				add(m)
				for j := range m.Fields().Len() {
					add(m.Fields().Get(j))
				}
				enums(m.Enums())
				messages(m.Messages())
			}
		}
		messages(fd.Messages())
		enums(fd.Enums())
		return true
	})
	if len(comments) == 0 {
		if !sawSource {
			return nil, fmt.Errorf("package %s: no files with source info in the descriptor set", pkg)
		}
		return nil, fmt.Errorf("package %s: no comments", pkg)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(comments); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// clean joins a comment's lines into one paragraph.
func clean(c string) string {
	return strings.Join(strings.Fields(c), " ")
}
