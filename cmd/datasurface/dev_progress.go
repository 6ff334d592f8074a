package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/opsbus"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	schedulerv1 "github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1/schedulerv1connect"
)

// devPrinter writes the progress view: one compact line per event, prefixed with the time.
type devPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
}

// event prints an event line (not with --quiet).
func (p *devPrinter) event(kind, format string, args ...any) {
	if p.quiet {
		return
	}
	p.line(kind, format, args...)
}

// line prints a line even with --quiet.
func (p *devPrinter) line(kind, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s %-9s %s\n", time.Now().Format("15:04:05"), kind, fmt.Sprintf(format, args...))
}

// plain prints text as it is.
func (p *devPrinter) plain(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

// watchBus prints verdicts, committed versions and the security service's events from the
// NATS subjects they are published on (core subscriptions: nothing is consumed or acked).
func watchBus(nc *nats.Conn, p *devPrinter) ([]*nats.Subscription, error) {
	var subs []*nats.Subscription
	sub := func(subject string, h nats.MsgHandler) error {
		s, err := nc.Subscribe(subject, h)
		if err == nil {
			subs = append(subs, s)
		}
		return err
	}
	if err := sub(modelbus.SubjectVerdict+">", func(m *nats.Msg) {
		ev := &eventsv1.ModelVerdict{}
		if proto.Unmarshal(m.Data, ev) != nil {
			return
		}
		var errs, warns, infos int
		for _, pr := range ev.GetReport().GetProblems() {
			switch severityOf(pr.GetSeverity()).String() {
			case "ERROR":
				errs++
			case "WARNING":
				warns++
			default:
				infos++
			}
		}
		verdict := "REJECTED"
		if ev.GetAccepted() {
			verdict = "ACCEPTED"
		}
		p.event("verdict", "proposal %s %s (%d errors, %d warnings, %d info)", ev.GetProposalId(), verdict, errs, warns, infos)
	}); err != nil {
		return subs, err
	}
	if err := sub(modelbus.SubjectCommitted, func(m *nats.Msg) {
		ev := &eventsv1.ModelCommitted{}
		if proto.Unmarshal(m.Data, ev) != nil {
			return
		}
		p.event("committed", "model version %d (%s) from %s, %d changes", ev.GetVersion(), shortDigest(ev.GetDigest()), ev.GetSource(), len(ev.GetChanges()))
	}); err != nil {
		return subs, err
	}
	err := sub(opsbus.SubjectSecurity+">", func(m *nats.Msg) {
		rest := strings.TrimPrefix(m.Subject, opsbus.SubjectSecurity)
		platform, event, _ := strings.Cut(rest, ".")
		switch event {
		case "applied":
			ev := &eventsv1.SecurityApplied{}
			if proto.Unmarshal(m.Data, ev) != nil {
				return
			}
			counts := map[string]int{}
			for _, a := range ev.GetActions() {
				counts[a.GetOp()]++
			}
			p.event("grants", "%s: %d actions applied for model version %d %s", platform, len(ev.GetActions()), ev.GetModelVersion(), countsText(counts))
		case "access.granted", "access.revoked":
			ev := &eventsv1.SecurityAccessChanged{}
			if proto.Unmarshal(m.Data, ev) != nil {
				return
			}
			p.event("access", "%s: %s %s", platform, strings.TrimPrefix(event, "access."), ev.GetPrincipal())
		case "apply.failed", "drift.detected":
			p.event("security", "%s: %s", platform, event)
		}
	})
	return subs, err
}

func countsText(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, op := range []string{"create_role", "create_schema", "grant", "grant_membership", "default_privileges", "revoke", "revoke_membership", "drop_role"} {
		if m[op] > 0 {
			parts = append(parts, op+"="+strconv.Itoa(m[op]))
		}
	}
	return "(" + strings.Join(parts, " ") + ")"
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

// streamWatch polls the scheduler: it prints new schedules and every batch that ends, triggers
// each stream once as soon as its schedule exists, and calls committed after each committed
// batch.
type streamWatch struct {
	client    schedulerv1connect.SchedulerServiceClient
	platforms []string
	p         *devPrinter
	log       *slog.Logger
	committed func(ctx context.Context)

	scheduled map[string]bool
	triggered map[string]int // attempts; -1 once triggered
	seen      map[string]int32
	since     time.Time
	batches   int
}

func newStreamWatch(base string, platforms []string, p *devPrinter, log *slog.Logger, committed func(context.Context)) *streamWatch {
	return &streamWatch{
		client:    schedulerv1connect.NewSchedulerServiceClient(http.DefaultClient, base),
		platforms: platforms, p: p, log: log, committed: committed,
		scheduled: map[string]bool{}, triggered: map[string]int{}, seen: map[string]int32{}, since: time.Now(),
	}
}

// run polls every interval until ctx ends.
func (w *streamWatch) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		w.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *streamWatch) poll(ctx context.Context) {
	for _, pl := range w.platforms {
		resp, err := w.client.ListStreams(ctx, connect.NewRequest(&schedulerv1.ListStreamsRequest{Platform: pl}))
		if err != nil {
			continue
		}
		for _, st := range resp.Msg.GetStreams() {
			id := pl + " " + st.GetKey()
			if st.GetSchedule().GetExists() && !w.scheduled[id] {
				w.scheduled[id] = true
				how := st.GetCron()
				if how == "" {
					how = strings.ToLower(strings.TrimPrefix(st.GetTrigger().String(), "TRIGGER_KIND_"))
				}
				w.p.event("schedule", "%s %s (%s, %s)", pl, st.GetKey(), st.GetCapture(), how)
			}
			if w.scheduled[id] && w.triggered[id] >= 0 && w.triggered[id] < 20 {
				if _, err := w.client.Trigger(ctx, connect.NewRequest(&schedulerv1.TriggerRequest{Platform: pl, Stream: st.GetKey()})); err != nil {
					w.triggered[id]++
					w.log.Warn("dev: trigger", "platform", pl, "stream", st.GetKey(), "err", err)
				} else {
					w.triggered[id] = -1
					w.p.event("trigger", "%s %s", pl, st.GetKey())
				}
			}
			w.batchesOf(ctx, pl, st.GetKey())
		}
	}
}

func (w *streamWatch) batchesOf(ctx context.Context, pl, key string) {
	resp, err := w.client.GetStream(ctx, connect.NewRequest(&schedulerv1.GetStreamRequest{Platform: pl, Stream: key, BatchLimit: 5}))
	if err != nil {
		return
	}
	id := pl + " " + key
	last := w.seen[id]
	committed := false
	bs := resp.Msg.GetBatches()
	for i := len(bs) - 1; i >= 0; i-- { // batches come newest first
		b := bs[i]
		done := b.GetStatus() == schedulerv1.BatchStatus_BATCH_STATUS_COMMITTED || b.GetStatus() == schedulerv1.BatchStatus_BATCH_STATUS_FAILED
		if !done || b.GetId() <= last {
			continue
		}
		w.seen[id] = b.GetId()
		if b.GetEndTime().AsTime().Before(w.since) {
			continue // a batch of an earlier run
		}
		dur := b.GetEndTime().AsTime().Sub(b.GetStartTime().AsTime()).Round(time.Millisecond)
		if b.GetStatus() == schedulerv1.BatchStatus_BATCH_STATUS_FAILED {
			w.p.event("batch", "%s %s #%d FAILED after %s in %s: %s", pl, key, b.GetId(), dur, b.GetError().GetPhase(), oneLine(b.GetError().GetMessage()))
			continue
		}
		committed = true
		w.batches++
		w.p.event("batch", "%s %s #%d committed: %d rows (+%d ~%d -%d) in %s", pl, key, b.GetId(), b.GetTotal(), b.GetInserted(), b.GetUpdated(), b.GetDeleted(), dur)
	}
	if committed && w.committed != nil {
		w.committed(ctx)
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// consumerQuery is a workspace view a consumer login can read and that holds rows.
type consumerQuery struct {
	workspaces []string
	user, dsn  string
	sql        string
}

// psql is the command line a user runs.
func (q consumerQuery) psql() string {
	return fmt.Sprintf("psql %q -c '%s'", q.dsn, q.sql)
}

// findConsumerQuery connects as each consumer login and looks for a view it may read that has
// rows; the consumer's privileges are the security service's grants, nothing dev added.
func findConsumerQuery(ctx context.Context, port int, db string, consumers []devConsumer) (consumerQuery, bool) {
	for _, c := range consumers {
		u := url.URL{Scheme: "postgresql", User: url.UserPassword(c.user, c.password), Host: "127.0.0.1:" + strconv.Itoa(port), Path: "/" + db}
		dsn := u.String()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		q, ok := readableView(cctx, dsn)
		cancel()
		if ok {
			return consumerQuery{workspaces: c.workspaces, user: c.user, dsn: dsn, sql: "SELECT * FROM " + q + " LIMIT 5"}, true
		}
	}
	return consumerQuery{}, false
}

func readableView(ctx context.Context, dsn string) (string, bool) {
	conn, err := pgx.Connect(ctx, dsn+"?sslmode=disable")
	if err != nil {
		return "", false
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT table_schema, table_name FROM information_schema.views
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
		  AND has_table_privilege(format('%I.%I', table_schema, table_name), 'SELECT')
		ORDER BY table_name LIKE '%live%' DESC, table_schema, table_name`)
	if err != nil {
		return "", false
	}
	names, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var s, n string
		err := r.Scan(&s, &n)
		return pgx.Identifier{s, n}.Sanitize(), err
	})
	if err != nil {
		return "", false
	}
	for _, n := range names {
		var has bool
		if conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM "+n+")").Scan(&has) == nil && has {
			return n, true
		}
	}
	return "", false
}
