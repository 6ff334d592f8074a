package query

import (
	"testing"

	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
	"github.com/datasurface/datasurface/services/modelsvc/internal/readmodel"
	"github.com/google/go-cmp/cmp"
)

func TestPageSize(t *testing.T) {
	for _, tt := range []struct {
		in   int32
		want int
		kind failure.Kind
	}{
		{0, DefaultPageSize, 0},
		{1, 1, 0},
		{MaxPageSize, MaxPageSize, 0},
		{MaxPageSize + 1, MaxPageSize, 0},
		{-1, 0, failure.InvalidArgument},
	} {
		got, err := Page{Size: tt.in}.size()
		wantErr := tt.kind != 0
		if got != tt.want || (err != nil) != wantErr || (wantErr && failure.KindOf(err) != tt.kind) {
			t.Errorf("size(%d) = %d, %v; want %d, kind %v", tt.in, got, err, tt.want, tt.kind)
		}
	}
}

func TestPaginate(t *testing.T) {
	l := &readmodel.Loaded{Version: &readmodel.Version{Number: 7}}
	items := []string{"a", "b", "c", "d", "e"}
	var got []string
	offset, pages := 0, 0
	for {
		page, next := paginate(l, items, offset, 2)
		got = append(got, page...)
		pages++
		if next == "" {
			break
		}
		v, err := decodeToken(next, "m1", 2)
		if err != nil {
			t.Fatal(err)
		}
		if v[0] != 7 {
			t.Fatalf("token bound to version %d, want 7", v[0])
		}
		offset = int(v[1])
	}
	if diff := cmp.Diff(items, got); diff != "" || pages != 3 {
		t.Errorf("%d pages (-want +got):\n%s", pages, diff)
	}
	if page, next := paginate(l, items, 9, 2); page != nil || next != "" {
		t.Errorf("past the end: %v %q", page, next)
	}
}

func TestDecodeTokenRejects(t *testing.T) {
	for _, tok := range []string{
		"!!!",
		encodeToken("m1/7"),
		encodeToken("m2/7/2"),
		encodeToken("m1/7/-2"),
		encodeToken("m1/x/2"),
		encodeToken("v1/3"),
	} {
		if _, err := decodeToken(tok, "m1", 2); failure.KindOf(err) != failure.InvalidArgument {
			t.Errorf("decodeToken(%q) = %v, want InvalidArgument", tok, err)
		}
	}
}
