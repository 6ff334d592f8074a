package rpc

import (
	"context"
	"errors"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/platforms/yellow/batchstatus"
	mergev1 "github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/datasurface/datasurface/services/merge/internal/reconcile"
	"github.com/datasurface/datasurface/services/merge/internal/status"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ListTables compares the staging, CDC load and merge tables of the platform's streams (or one)
// with the model and counts their rows.
func (h *Handler) ListTables(ctx context.Context, req *connect.Request[mergev1.ListTablesRequest]) (*connect.Response[mergev1.ListTablesResponse], error) {
	t, err := h.open(ctx, req.Msg.GetPlatform())
	if err != nil {
		return nil, err
	}
	streams := t.Platform.Streams()
	if k := req.Msg.GetStream(); k != "" {
		s, err := t.Platform.Stream(k)
		if err != nil {
			return nil, connect.NewError(connect.CodeNotFound, err)
		}
		streams = []*platform.Stream{s}
	}
	out := &mergev1.ListTablesResponse{ModelVersion: t.Version}
	err = readTx(ctx, t, func(tx pgx.Tx) error {
		for _, s := range streams {
			for _, ds := range s.Datasets {
				for _, want := range ds.Tables() {
					st, err := status.ReadTable(ctx, tx, want)
					if err != nil {
						return err
					}
					tb := &mergev1.Table{
						Stream: s.Key, Dataset: ds.Name, Kind: string(want.Kind), Name: want.Name.String(), Exists: st.Exists,
						State: mergev1.TableState_TABLE_STATE_PENDING, Rows: st.Rows, AllRows: st.AllRows,
						MissingColumns: st.Missing, ChangedColumns: st.Changed, Conflict: st.Conflict,
					}
					if st.InStep {
						tb.State = mergev1.TableState_TABLE_STATE_IN_STEP
					}
					out.Tables = append(out.Tables, tb)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, code(err)
	}
	return connect.NewResponse(out), nil
}

// ListViews lists the platform's workspace views (or one workspace's) with their state and the
// lag of the stream feeding each.
func (h *Handler) ListViews(ctx context.Context, req *connect.Request[mergev1.ListViewsRequest]) (*connect.Response[mergev1.ListViewsResponse], error) {
	t, err := h.open(ctx, req.Msg.GetPlatform())
	if err != nil {
		return nil, err
	}
	w := req.Msg.GetWorkspace()
	if w != "" && t.Platform.Index.Workspaces[w] == nil {
		return nil, connect.NewError(connect.CodeNotFound, &platform.NotFoundError{What: "workspace", Name: w})
	}
	var (
		views []reconcile.ViewStatus
		lags  map[string]status.Lag
	)
	err = readTx(ctx, t, func(tx pgx.Tx) error {
		var err error
		if views, err = reconcile.InspectViews(ctx, tx, t.Platform, w); err != nil {
			return err
		}
		lags, err = status.Lags(ctx, tx, t.Platform.Name, nil)
		if errors.Is(err, batchstatus.ErrNoTables) {
			lags, err = map[string]status.Lag{}, nil
		}
		return err
	})
	if err != nil {
		return nil, code(err)
	}
	out := &mergev1.ListViewsResponse{ModelVersion: t.Version}
	for _, v := range views {
		mv := &mergev1.View{Name: v.Name.String(), State: viewState(v.State)}
		if s := v.Spec; s != nil {
			mv.Workspace, mv.DatasetGroup, mv.Dataset, mv.Kind = s.Workspace, s.DSG, s.Dataset.Merge.Dataset, string(s.Kind)
			if e, ok := t.Platform.Graph.Export(s.Dataset.Layout.Store, s.Dataset.Name); ok {
				mv.Stream = e.Stream
				if l, ok := lags[e.Stream]; ok {
					secs := l.Seconds
					mv.LagSeconds = &secs
				}
			}
		}
		out.Views = append(out.Views, mv)
	}
	return connect.NewResponse(out), nil
}

func viewState(s reconcile.ViewState) mergev1.ViewState {
	switch s {
	case reconcile.ViewPresent:
		return mergev1.ViewState_VIEW_STATE_PRESENT
	case reconcile.ViewPending:
		return mergev1.ViewState_VIEW_STATE_PENDING
	case reconcile.ViewStale:
		return mergev1.ViewState_VIEW_STATE_STALE
	case reconcile.ViewUndesired:
		return mergev1.ViewState_VIEW_STATE_UNDESIRED
	}
	return mergev1.ViewState_VIEW_STATE_UNSPECIFIED
}

// GetLag returns the lag of every stream of the platform and of every workspace reading from it
// (yellow.md §14: workspace lag = the maximum over the streams feeding its views).
func (h *Handler) GetLag(ctx context.Context, req *connect.Request[mergev1.GetLagRequest]) (*connect.Response[mergev1.GetLagResponse], error) {
	t, err := h.open(ctx, req.Msg.GetPlatform())
	if err != nil {
		return nil, err
	}
	var (
		lags map[string]status.Lag
		now  time.Time
	)
	err = readTx(ctx, t, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
			return err
		}
		var err error
		lags, err = status.Lags(ctx, tx, t.Platform.Name, nil)
		if errors.Is(err, batchstatus.ErrNoTables) {
			lags, err = map[string]status.Lag{}, nil
		}
		return err
	})
	if err != nil {
		return nil, code(err)
	}
	out := &mergev1.GetLagResponse{ModelVersion: t.Version, At: timestamppb.New(now)}
	for _, s := range t.Platform.Streams() {
		sl := &mergev1.StreamLag{Stream: s.Key}
		if l, ok := lags[s.Key]; ok {
			sl.Committed, sl.Batch, sl.DataTime, sl.Seconds = true, l.Batch, ts(l.DataTime), l.Seconds
		}
		out.Streams = append(out.Streams, sl)
	}
	byWorkspace := map[string][]string{}
	for _, e := range t.Platform.Graph.Exports {
		for _, w := range e.Readers {
			if !slices.Contains(byWorkspace[w], e.Stream) {
				byWorkspace[w] = append(byWorkspace[w], e.Stream)
			}
		}
	}
	workspaces := make([]string, 0, len(byWorkspace))
	for w := range byWorkspace {
		workspaces = append(workspaces, w)
	}
	slices.Sort(workspaces)
	for _, w := range workspaces {
		keys := byWorkspace[w]
		slices.Sort(keys)
		wl := &mergev1.WorkspaceLag{Workspace: w, Streams: keys}
		for _, k := range keys {
			if l, ok := lags[k]; ok {
				wl.Committed = true
				wl.Seconds = max(wl.Seconds, l.Seconds)
			}
		}
		out.Workspaces = append(out.Workspaces, wl)
	}
	return connect.NewResponse(out), nil
}

// ts converts a time (nil when zero).
func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
