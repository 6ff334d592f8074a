package mergesql

import (
	"github.com/datasurface/datasurface/platforms/yellow/naming"
)

// StreamLag reads, for each stream key in keys, its latest committed batch, that batch's data
// time (state.dataTime) and the stream lag in seconds = now − data time (yellow.md §14). Result
// columns: key, batch_id, data_time (timestamptz), lag_seconds (double precision). Streams without
// a committed batch have no row. A nil keys slice reads every stream of the platform.
func StreamLag(metrics naming.Name, keys []string) Stmt {
	where := "m.batch_status = 'committed'"
	var args []any
	if keys != nil {
		where += " AND m.key = ANY($1::text[])"
		args = []any{keys}
	}
	sql := "SELECT l.key, l.batch_id, l.data_time,\n" +
		"       extract(epoch FROM (now() - l.data_time))::double precision AS lag_seconds\n" +
		"FROM (SELECT DISTINCT ON (m.key) m.key::text AS key, m.batch_id, (m.state->>'dataTime')::timestamptz AS data_time\n" +
		"      FROM " + ident(metrics) + " m\n" +
		"      WHERE " + where + "\n" +
		"      ORDER BY m.key, m.batch_id DESC) l\n" +
		"ORDER BY l.key"
	return Stmt{Name: "stream lag", SQL: sql, Args: args}
}

// WorkspaceLag is the lag of a workspace (§14): the maximum stream lag over the streams feeding
// its views. Result: one row, lag_seconds (NULL when no stream has committed).
func WorkspaceLag(metrics naming.Name, keys []string) Stmt {
	s := StreamLag(metrics, keys)
	s.Name = "workspace lag"
	s.SQL = "SELECT max(w.lag_seconds) FROM (\n" + s.SQL + ") w"
	return s
}

// CountRows counts the rows of a view or table: the numerator of completeness (§14,
// `datasurface lag --count`), whose denominator is counted on the source.
func CountRows(n naming.Name) Stmt {
	return Stmt{Name: "count rows", SQL: "SELECT count(*) FROM " + ident(n)}
}
