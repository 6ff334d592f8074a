package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/datasurface/datasurface/kit/metrics"
)

var testCounter = metrics.Counter("test_things_total", "Things counted by the test.", "kind")

// scrape GETs the handler and parses the text exposition.
func scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d: %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestCounterShowsInHandlerOutput(t *testing.T) {
	testCounter.WithLabelValues("apple").Add(3)
	fams := scrape(t)
	got, ok := value(fams, "datasurface_test_things_total", map[string]string{"kind": "apple"})
	if !ok || got != 3 {
		t.Errorf("datasurface_test_things_total{kind=apple} = %v (present %v), want 3", got, ok)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("the Go collector is missing from /metrics")
	}
	if _, ok := fams["process_cpu_seconds_total"]; !ok {
		t.Error("the process collector is missing from /metrics")
	}
}

func TestDefiningAMetricTwiceSharesIt(t *testing.T) {
	again := metrics.Counter("test_things_total", "Things counted by the test.", "kind")
	again.WithLabelValues("pear").Inc()
	if got := testutil.ToFloat64(testCounter.WithLabelValues("pear")); got != 1 {
		t.Errorf("second definition counts separately: first sees %v, want 1", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("a conflicting definition (gauge under a counter's name) did not panic")
		}
	}()
	metrics.Gauge("test_things_total", "Things.", "kind")
}

func TestConnectInterceptorCountsByProcedureAndCode(t *testing.T) {
	const procedure = "/test.v1.TestService/Do"
	labels := map[string]string{"procedure": procedure, "code": "invalid_argument"}
	before, _ := value(scrape(t), "datasurface_rpc_requests_total", labels)
	fail := connect.NewUnaryHandler(procedure, func(context.Context, *connect.Request[struct{}]) (*connect.Response[struct{}], error) {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("bad"))
	}, connect.WithInterceptors(metrics.ConnectInterceptor()), connect.WithCodec(emptyCodec{}))
	srv := httptest.NewServer(fail)
	defer srv.Close()
	resp, err := http.Post(srv.URL+procedure, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	fams := scrape(t)
	if got, _ := value(fams, "datasurface_rpc_requests_total", labels); got != before+1 {
		t.Errorf("datasurface_rpc_requests_total{procedure,code=invalid_argument} = %v, want %v", got, before+1)
	}
	if n, ok := value(fams, "datasurface_rpc_duration_seconds", map[string]string{"procedure": procedure}); !ok || n < 1 {
		t.Errorf("datasurface_rpc_duration_seconds{procedure} count = %v (present %v), want ≥ 1", n, ok)
	}
}

func TestCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{connect.NewError(connect.CodeNotFound, errors.New("x")), "not_found"},
		{context.Canceled, "canceled"},
		{errors.New("plain"), "unknown"},
	} {
		if got := metrics.Code(tc.err); got != tc.want {
			t.Errorf("Code(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// emptyCodec decodes any body into struct{} as JSON would.
type emptyCodec struct{}

func (emptyCodec) Name() string                { return "json" }
func (emptyCodec) Marshal(any) ([]byte, error) { return []byte("{}"), nil }
func (emptyCodec) Unmarshal([]byte, any) error { return nil }

func TestValueReadsTheRegistry(t *testing.T) {
	testCounter.WithLabelValues("plum").Add(2)
	got, ok, err := metrics.Value("datasurface_test_things_total", map[string]string{"kind": "plum"})
	if err != nil || !ok || got != 2 {
		t.Errorf("Value = %v, %v, %v; want 2, true, nil", got, ok, err)
	}
	if _, ok, _ := metrics.Value("datasurface_test_things_total", map[string]string{"kind": "fig"}); ok {
		t.Error("Value found a series that was never set")
	}
}
