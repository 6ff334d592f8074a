package platform_test

import (
	"strings"
	"testing"

	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/ylint"
	"github.com/datasurface/datasurface/services/merge/internal/mergetest"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/google/go-cmp/cmp"
)

func TestTestModelLintsClean(t *testing.T) {
	res := mergetest.LoadResult(t, mergetest.Options{})
	for _, p := range lint.Run(res.Model, res.Source, lint.Options{Platforms: []lint.PlatformRules{ylint.New()}}) {
		if p.Severity == problem.Error {
			t.Errorf("lint: %v %s: %s", p.Rule, p.Path, p.Message)
		}
	}
}

func TestBuildStreamsViewsTransformers(t *testing.T) {
	m := mergetest.Load(t, mergetest.Options{Keep: 3})
	live, err := platform.Build(m, "YellowLive")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range live.Streams() {
		got = append(got, s.Key+" "+s.Capture.String()+" "+strings.Join(s.DatasetNames(), ","))
	}
	want := []string{"Clicks#clicks watermark clicks", "Shop snapshot people,visits", "Stats transformer-output totals"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("streams (-want +got):\n%s", diff)
	}
	shop, err := live.Stream("Shop")
	if err != nil {
		t.Fatal(err)
	}
	if shop.Datasets[0].Keep != 3 || shop.Datasets[0].Merge.Name.String() != "yellowlive.yellowlive_shop_people_merge" {
		t.Errorf("people: keep %d, merge %s", shop.Datasets[0].Keep, shop.Datasets[0].Merge.Name)
	}
	if mode, _ := shop.Mode(live.Milestoning, false); mode != mergesql.LiveSnapshot {
		t.Errorf("mode = %v", mode)
	}

	got = nil
	for _, v := range live.Views() {
		var masked []string
		for _, c := range v.Dataset.Layout.Columns {
			if v.Masked[c.Name] {
				masked = append(masked, c.Name)
			}
		}
		got = append(got, string(v.Kind)+" "+v.Name().String()+" masked="+strings.Join(masked, ","))
	}
	want = []string{
		"live yellowlive_analytics.yellowlive_analytics_main_clicks_clicks_view_live masked=",
		"live yellowlive_analytics.yellowlive_analytics_main_shop_people_view_live masked=email",
		"live yellowlive_analytics.yellowlive_analytics_main_shop_visits_view_live masked=",
		"live yellowlive_analytics.yellowlive_analytics_main_stats_totals_view_live masked=",
		"live yellowlive_peoplestats.yellowlive_peoplestats_inputs_shop_people_view_live masked=email",
		"live yellowlive_peoplestats.yellowlive_peoplestats_inputs_shop_visits_view_live masked=",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("views (-want +got):\n%s", diff)
	}

	tr, err := live.Transformer("PeopleStats")
	if err != nil {
		t.Fatal(err)
	}
	wantQuery := `SELECT p.id AS person_id, count(v.page) AS visits
FROM "yellowlive_peoplestats"."yellowlive_peoplestats_inputs_shop_people_view_live" p
LEFT JOIN "yellowlive_peoplestats"."yellowlive_peoplestats_inputs_shop_visits_view_live" v ON v.person_id = p.id
GROUP BY p.id`
	if diff := cmp.Diff(wantQuery, tr.Queries["totals"]); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Shop"}, tr.Inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	if tr.Outputs[0].Name.String() != "yellowlive_dt_peoplestats.yellowlive_dt_stats_totals" || tr.Output.Key != "Stats" {
		t.Errorf("outputs %v, output stream %s", tr.Outputs[0].Name, tr.Output.Key)
	}
}

func TestForensicViewsOnlyWhereRequired(t *testing.T) {
	m := mergetest.Load(t, mergetest.Options{})
	p, err := platform.Build(m, "YellowForensic")
	if err != nil {
		t.Fatal(err)
	}
	if p.Milestoning != layout.Forensic {
		t.Fatalf("milestoning %v", p.Milestoning)
	}
	var got []string
	for _, v := range p.Views() {
		got = append(got, string(v.Kind)+" "+v.Name().Name)
	}
	want := []string{
		"live yellowforensic_audit_current_shop_people_view_live",
		"live yellowforensic_audit_history_clicks_clicks_view_live",
		"full yellowforensic_audit_history_clicks_clicks_view_full",
		"live yellowforensic_audit_history_shop_people_view_live",
		"full yellowforensic_audit_history_shop_people_view_full",
		"live yellowforensic_audit_history_shop_visits_view_live",
		"full yellowforensic_audit_history_shop_visits_view_full",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("views (-want +got):\n%s", diff)
	}
}

func TestDecommissionedGroupHasNoViews(t *testing.T) {
	m := mergetest.Load(t, mergetest.Options{Decommission: true})
	p, err := platform.Build(m, "YellowLive")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Views()); n != 0 {
		t.Errorf("%d views, want none", n)
	}
	if _, err := p.Stream("Shop"); err == nil {
		t.Error("stream Shop still on the platform")
	}
}

func TestUnknownNames(t *testing.T) {
	m := mergetest.Load(t, mergetest.Options{})
	if _, err := platform.Build(m, "Nope"); err == nil {
		t.Error("unknown platform built")
	}
	p, err := platform.Build(m, "YellowLive")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Stream("Nope"); err == nil {
		t.Error("unknown stream found")
	}
	if _, err := p.Transformer("Analytics"); err == nil {
		t.Error("a workspace without transformer found as transformer")
	}
}
