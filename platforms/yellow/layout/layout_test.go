package layout_test

import (
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

func people() *modelv1.Dataset {
	return &modelv1.Dataset{
		Name:       "people",
		PrimaryKey: []string{"id"},
		Columns: []*modelv1.Column{
			{Name: "id", Type: &modelv1.DataType{Name: "Integer"}},
			{Name: "firstName", Type: &modelv1.DataType{Name: "VarChar", MaxSize: proto.Int64(50)}, Nullable: false},
			{Name: "dob", Type: &modelv1.DataType{Name: "Date"}, Nullable: true},
			{Name: "code", Type: &modelv1.DataType{Name: "Char", MaxSize: proto.Int64(3), Collation: "C"}, Nullable: true},
		},
	}
}

func TestFromModel(t *testing.T) {
	got, err := layout.FromModel("Store1", people(), ytypes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := layout.Dataset{
		Store: "Store1", Name: "people", PrimaryKey: []string{"id"},
		Columns: []layout.Column{
			{Name: "id", Type: "integer", NotNull: true, Model: true},
			{Name: "firstName", Type: "character varying(50)", NotNull: true, Model: true},
			{Name: "dob", Type: "date", Model: true},
			{Name: "code", Type: "character(3)", Collation: "C", Model: true},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromModel (-want +got):\n%s", diff)
	}
}

func TestFromModelRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*modelv1.Dataset)
	}{
		{"not storable", func(d *modelv1.Dataset) { d.Columns[2].Type = &modelv1.DataType{Name: "IEEE128"} }},
		{"reserved prefix", func(d *modelv1.Dataset) { d.Columns[2].Name = "ds_surf_batch_id" }},
		{"repeated column", func(d *modelv1.Dataset) { d.Columns[2].Name = "id" }},
		{"unknown key", func(d *modelv1.Dataset) { d.PrimaryKey = []string{"nope"} }},
		{"long name", func(d *modelv1.Dataset) {
			d.Columns[2].Name = "a234567890123456789012345678901234567890123456789012345678901234"
		}},
		{"NUL in name", func(d *modelv1.Dataset) { d.Columns[2].Name = "a\x00b" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := people()
			tt.mutate(d)
			if _, err := layout.FromModel("Store1", d, ytypes.Options{}); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestTables(t *testing.T) {
	ds, err := layout.FromModel("Store1", people(), ytypes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		table       layout.Table
		wantName    naming.Name
		wantColumns []string
		wantComment string
	}{
		{"staging snapshot", layout.Staging("Test_DP", ds, layout.Snapshot),
			naming.Name{Schema: "test_dp", Name: "test_dp_store1_people_staging"},
			[]string{"id", "firstName", "dob", "code", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash"},
			"datasurface:managed kind=staging platform=Test_DP dataset=Store1.people"},
		{"staging cdc", layout.Staging("Test_DP", ds, layout.CDC),
			naming.Name{Schema: "test_dp", Name: "test_dp_store1_people_staging"},
			[]string{"id", "firstName", "dob", "code", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_iud", "ds_surf_pos"},
			"datasurface:managed kind=staging platform=Test_DP dataset=Store1.people"},
		{"staging remote live", layout.Staging("Test_DP", ds, layout.RemoteLive),
			naming.Name{Schema: "test_dp", Name: "test_dp_store1_people_staging"},
			[]string{"id", "firstName", "dob", "code", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_iud"},
			"datasurface:managed kind=staging platform=Test_DP dataset=Store1.people"},
		{"staging remote forensic", layout.Staging("Test_DP", ds, layout.RemoteForensic),
			naming.Name{Schema: "test_dp", Name: "test_dp_store1_people_staging"},
			[]string{"id", "firstName", "dob", "code", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_remote_batch_in", "ds_surf_remote_batch_out"},
			"datasurface:managed kind=staging platform=Test_DP dataset=Store1.people"},
		{"cdc load", layout.CDCLoad("Test_DP", ds),
			naming.Name{Schema: "test_dp", Name: "test_dp_store1_people_cdcload"},
			[]string{"id", "firstName", "dob", "code", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_iud", "ds_surf_pos", "ds_surf_kafka_topic", "ds_surf_kafka_partition", "ds_surf_kafka_offset"},
			"datasurface:managed kind=cdcload platform=Test_DP dataset=Store1.people"},
		{"merge live", layout.Merge("Test_DP", ds, layout.LiveOnly),
			naming.Name{Schema: "test_dp", Name: "test_dp_store1_people_merge"},
			[]string{"id", "firstName", "dob", "code", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash"},
			"datasurface:managed kind=merge platform=Test_DP dataset=Store1.people"},
		{"merge forensic", layout.Merge("Test_DP", ds, layout.Forensic),
			naming.Name{Schema: "test_dp", Name: "test_dp_store1_people_merge"},
			[]string{"id", "firstName", "dob", "code", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_in", "ds_surf_batch_out"},
			"datasurface:managed kind=merge platform=Test_DP dataset=Store1.people"},
		{"transformer output", layout.OutputTable("YellowLive", "Masking", layout.Dataset{Store: "MaskedCustomers", Name: "customers", Columns: ds.Columns}),
			naming.Name{Schema: "yellowlive_dt_masking", Name: "yellowlive_dt_maskedcustomers_customers"},
			[]string{"id", "firstName", "dob", "code"},
			"datasurface:managed kind=transformer_output platform=YellowLive workspace=Masking dataset=MaskedCustomers.customers"},
		{"batch counter", layout.BatchCounter("Test_DP"),
			naming.Name{Schema: "test_dp", Name: "test_dp_batch_counter"},
			[]string{"key", "current_batch"},
			"datasurface:managed kind=batch_counter platform=Test_DP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.wantName, tt.table.Name); diff != "" {
				t.Errorf("name (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantColumns, tt.table.ColumnNames()); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantComment, tt.table.Comment()); diff != "" {
				t.Errorf("comment (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNullability(t *testing.T) {
	ds, err := layout.FromModel("S", people(), ytypes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	notNull := func(tb layout.Table) map[string]bool {
		m := map[string]bool{}
		for _, c := range tb.ModelColumns() {
			m[c.Name] = c.NotNull
		}
		return m
	}
	// Staging: only key columns NOT NULL; merge: model nullability; output: model nullability.
	if diff := cmp.Diff(map[string]bool{"id": true, "firstName": false, "dob": false, "code": false}, notNull(layout.Staging("D", ds, layout.Snapshot))); diff != "" {
		t.Errorf("staging (-want +got):\n%s", diff)
	}
	want := map[string]bool{"id": true, "firstName": true, "dob": false, "code": false}
	if diff := cmp.Diff(want, notNull(layout.Merge("D", ds, layout.Forensic))); diff != "" {
		t.Errorf("merge (-want +got):\n%s", diff)
	}
}

func TestKeyless(t *testing.T) {
	d := people()
	d.PrimaryKey = nil
	ds, err := layout.FromModel("S", d, ytypes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := layout.Staging("D", ds, layout.Snapshot)
	if st.Indexes[0].Unique {
		t.Error("keyless staging index must not be unique")
	}
	for _, m := range []layout.Milestoning{layout.LiveOnly, layout.Forensic} {
		if mt := layout.Merge("D", ds, m); mt.PrimaryKey != nil {
			t.Errorf("%v keyless merge table has a primary key", m)
		}
	}
}

func TestCaptureFor(t *testing.T) {
	tests := []struct {
		kind   string
		remote bool
		m      layout.Milestoning
		want   layout.Capture
	}{
		{"sqlSnapshot", false, layout.LiveOnly, layout.Snapshot},
		{"sqlWatermark", false, layout.Forensic, layout.Watermark},
		{"kafkaCdc", false, layout.LiveOnly, layout.CDC},
		{"transformerOutput", false, layout.Forensic, layout.TransformerOutput},
		{"sqlSnapshot", true, layout.LiveOnly, layout.RemoteLive},
		{"kafkaCdc", true, layout.Forensic, layout.RemoteForensic},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.want.String(), func(t *testing.T) {
			got, err := layout.CaptureFor(tt.kind, tt.remote, tt.m)
			if err != nil || got != tt.want {
				t.Errorf("CaptureFor = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := layout.CaptureFor("bogus", false, layout.LiveOnly); err == nil {
		t.Error("unknown kind: no error")
	}
	if _, err := layout.MilestoningOf(modelv1.PlatformMilestoning_PLATFORM_MILESTONING_UNSPECIFIED); err == nil {
		t.Error("unspecified milestoning: no error")
	}
}
