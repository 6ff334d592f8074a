package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// set builds a one-file descriptor set of package p with a message M (field f) and an enum E,
// commented where comments is non-nil.
func set(t *testing.T, comments bool) []byte {
	t.Helper()
	f := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("p/v1/x.proto"),
		Package: proto.String("p.v1"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("M"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name:     proto.String("owning_repo"),
				Number:   proto.Int32(1),
				Type:     descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
				Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				JsonName: proto.String("owningRepo"),
			}},
		}},
		EnumType: []*descriptorpb.EnumDescriptorProto{{
			Name:  proto.String("E"),
			Value: []*descriptorpb.EnumValueDescriptorProto{{Name: proto.String("E_UNSPECIFIED"), Number: proto.Int32(0)}},
		}},
	}
	if comments {
		loc := func(c string, path ...int32) *descriptorpb.SourceCodeInfo_Location {
			return &descriptorpb.SourceCodeInfo_Location{Path: path, Span: []int32{1, 0, 1}, LeadingComments: proto.String(c)}
		}
		f.SourceCodeInfo = &descriptorpb.SourceCodeInfo{Location: []*descriptorpb.SourceCodeInfo_Location{
			loc(" M is a message\n spread over\n two lines.\n", 4, 0),
			loc(" owning_repo: who owns it.\n", 4, 0, 2, 0),
			loc(" E is an enum.\n", 5, 0),
		}}
	}
	b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{f}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		args    []string
		want    string
		wantErr string
	}{
		{
			name: "comments by full name",
			in:   set(t, true),
			args: []string{"-package", "p.v1"},
			want: `{
  "p.v1.E": "E is an enum.",
  "p.v1.M": "M is a message spread over two lines.",
  "p.v1.M.owning_repo": "owning_repo: who owns it."
}
`,
		},
		{name: "no source info", in: set(t, false), args: []string{"-package", "p.v1"}, wantErr: "no files with source info"},
		{name: "other package", in: set(t, true), args: []string{"-package", "q.v1"}, wantErr: "no files with source info"},
		{name: "package required", in: set(t, true), wantErr: "-package is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, bytes.NewReader(tt.in), &stdout, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("run error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, stdout.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}
