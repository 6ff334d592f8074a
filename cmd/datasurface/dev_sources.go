package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// The simulated producers of `datasurface dev`: every dataset of a SQL capture becomes a table
// in its source database (derived from the dataset's schema with Yellow's type mapping), every
// dataset of a Kafka CDC capture a topic of Debezium change events. They are seeded once and
// then changed a little every few seconds.

const (
	seedRows     = 300 // rows per keyed dataset on the first run
	seedKeyless  = 120 // rows per keyless dataset
	keysPerGroup = 4   // composite keys: the first key column repeats for this many rows
)

// simTable is one simulated dataset.
type simTable struct {
	ref   string // "Datastore.dataset"
	store *modelv1.Datastore
	ds    *modelv1.Dataset
	key   []*modelv1.Column
	// SQL sources.
	db, login     string
	table         []string // [schema, table] or [table]
	watermark     string
	snapshot      bool
	physicalTypes []string
	// CDC sources.
	topic string
}

func (t *simTable) keyed() bool { return len(t.key) > 0 }

// sql reports whether t is a table in a source database (else a Kafka topic).
func (t *simTable) sql() bool { return t.db != "" }

// quoted returns the table's quoted name.
func (t *simTable) quoted() string { return pgx.Identifier(t.table).Sanitize() }

// simulator seeds and changes the simulated sources.
type simulator struct {
	st     *devState
	tables []*simTable
	pools  map[string]*pgxpool.Pool // by database, as the superuser
	kafka  *kgo.Client
	r      *rand.Rand
}

// newSimulator finds the simulated datasets of the model (deprecated datasets included: the
// capture reads them too).
func newSimulator(m *devModel, st *devState, logins []devLogin) (*simulator, error) {
	s := &simulator{st: st, pools: map[string]*pgxpool.Pool{}, r: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))}
	for _, store := range m.model.GetDatastores() {
		c := store.GetCapture()
		db, isSQL := sourceDatabase(m, store)
		var cred string
		var tables map[string]string
		switch {
		case c.GetSqlSnapshot() != nil:
			cred, tables = c.GetSqlSnapshot().GetCredential().GetName(), c.GetSqlSnapshot().GetSourceTables()
		case c.GetSqlWatermark() != nil:
			cred, tables = c.GetSqlWatermark().GetCredential().GetName(), c.GetSqlWatermark().GetSourceTables()
		case c.GetKafkaCdc() != nil:
		default:
			continue // transformer output and captures dev does not simulate
		}
		if (c.GetSqlSnapshot() != nil || c.GetSqlWatermark() != nil) && !isSQL {
			continue // not a Postgres source
		}
		for _, ds := range store.GetDatasets() {
			t := &simTable{ref: store.GetName() + "." + ds.GetName(), store: store, ds: ds}
			for _, k := range ds.GetPrimaryKey() {
				i := slices.IndexFunc(ds.GetColumns(), func(c *modelv1.Column) bool { return c.GetName() == k })
				if i < 0 {
					return nil, fmt.Errorf("%s: primary key column %q is not a column", t.ref, k)
				}
				t.key = append(t.key, ds.GetColumns()[i])
			}
			if isSQL {
				t.db = db
				t.snapshot = c.GetSqlSnapshot() != nil
				t.watermark = c.GetSqlWatermark().GetWatermarkColumn()
				for _, l := range logins {
					if l.credential == cred {
						t.login = l.user
					}
				}
				t.table = []string{"public", ds.GetName()}
				if name := tables[ds.GetName()]; name != "" {
					t.table = strings.Split(name, ".")
					if len(t.table) == 1 {
						t.table = []string{"public", t.table[0]}
					}
				}
				for _, col := range ds.GetColumns() {
					p, err := ytypes.Map(col.GetType(), ytypes.Options{})
					if err != nil {
						return nil, fmt.Errorf("%s.%s: %w", t.ref, col.GetName(), err)
					}
					t.physicalTypes = append(t.physicalTypes, p.Type)
				}
			} else {
				k := c.GetKafkaCdc()
				t.topic = k.GetTopics()[ds.GetName()]
				if t.topic == "" {
					t.topic = k.GetTopicPrefix() + "." + ds.GetName()
				}
			}
			s.tables = append(s.tables, t)
		}
	}
	return s, nil
}

// topics returns the Kafka topics of the CDC datasets.
func (s *simulator) topics() []string {
	var out []string
	for _, t := range s.tables {
		if !t.sql() {
			out = append(out, t.topic)
		}
	}
	return out
}

// open connects to the source databases.
func (s *simulator) open(ctx context.Context, dsn func(db string) string) error {
	for _, t := range s.tables {
		if !t.sql() || s.pools[t.db] != nil {
			continue
		}
		p, err := pgxpool.New(ctx, dsn(t.db))
		if err != nil {
			return err
		}
		s.pools[t.db] = p
	}
	return nil
}

func (s *simulator) close() {
	for _, p := range s.pools {
		p.Close()
	}
}

// prepare creates the source tables when missing and grants the source logins what a capture
// reads (CONNECT is granted with the login).
func (s *simulator) prepare(ctx context.Context) error {
	for _, t := range s.tables {
		if !t.sql() {
			continue
		}
		pool := s.pools[t.db]
		var cols []string
		for i, c := range t.ds.GetColumns() {
			def := pgx.Identifier{c.GetName()}.Sanitize() + " " + t.physicalTypes[i]
			if !c.GetNullable() {
				def += " NOT NULL"
			}
			cols = append(cols, def)
		}
		if t.keyed() {
			var keys []string
			for _, k := range t.key {
				keys = append(keys, pgx.Identifier{k.GetName()}.Sanitize())
			}
			cols = append(cols, "PRIMARY KEY ("+strings.Join(keys, ", ")+")")
		}
		schema := pgx.Identifier{t.table[0]}.Sanitize()
		stmts := []string{
			"CREATE SCHEMA IF NOT EXISTS " + schema,
			"CREATE TABLE IF NOT EXISTS " + t.quoted() + " (" + strings.Join(cols, ", ") + ")",
		}
		if t.login != "" {
			login := pgx.Identifier{t.login}.Sanitize()
			stmts = append(stmts, "GRANT USAGE ON SCHEMA "+schema+" TO "+login, "GRANT SELECT ON "+t.quoted()+" TO "+login)
		}
		for _, q := range stmts {
			if _, err := pool.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %s: %w", t.ref, q, err)
			}
		}
	}
	return nil
}

// seed writes the first rows of every simulated dataset and returns how many.
func (s *simulator) seed(ctx context.Context) (int, error) {
	total := 0
	for _, t := range s.tables {
		n := int64(seedRows)
		if !t.keyed() {
			n = seedKeyless
		}
		if t.sql() {
			b := &pgx.Batch{}
			for i := int64(1); i <= n; i++ {
				s.queueInsert(b, t, i)
			}
			if err := s.pools[t.db].SendBatch(ctx, b).Close(); err != nil {
				return total, fmt.Errorf("seed %s: %w", t.ref, err)
			}
		} else {
			var recs []*kgo.Record
			for i := int64(1); i <= n; i++ {
				recs = append(recs, s.cdcInsert(t, i, "r")...)
			}
			if err := s.kafka.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				return total, fmt.Errorf("seed %s: %w", t.ref, err)
			}
		}
		s.st.mu.Lock()
		s.st.Next[t.ref] = n + 1
		s.st.mu.Unlock()
		total += int(n)
	}
	s.st.mu.Lock()
	s.st.Seeded = true
	s.st.mu.Unlock()
	return total, s.st.save()
}

// rowKey returns the key values of row n.
func (t *simTable) rowKey(n int64) []any {
	out := make([]any, len(t.key))
	for i, k := range t.key {
		switch {
		case len(t.key) == 1:
			out[i] = keyValue(k, n)
		case i == 0:
			out[i] = keyValue(k, (n-1)/keysPerGroup+1)
		default:
			out[i] = keyValue(k, (n-1)%keysPerGroup+1)
		}
	}
	return out
}

// row returns the values of row n (key columns from n, the others random), by column.
func (s *simulator) row(t *simTable, n int64, r *rand.Rand) []any {
	key := t.rowKey(n)
	vals := make([]any, len(t.ds.GetColumns()))
	for i, c := range t.ds.GetColumns() {
		if k := slices.Index(t.ds.GetPrimaryKey(), c.GetName()); k >= 0 {
			vals[i] = key[k]
			continue
		}
		vals[i] = genFor(r, c, c.GetNullable(), c.GetName() == t.watermark)
	}
	return vals
}

func (s *simulator) queueInsert(b *pgx.Batch, t *simTable, n int64) {
	vals := s.row(t, n, s.r)
	var cols, params []string
	args := make([]any, 0, len(vals))
	for i, c := range t.ds.GetColumns() {
		cols = append(cols, pgx.Identifier{c.GetName()}.Sanitize())
		params = append(params, "$"+strconv.Itoa(i+1)+"::text::"+t.physicalTypes[i])
		args = append(args, textArg(vals[i]))
	}
	q := "INSERT INTO " + t.quoted() + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(params, ", ") + ")"
	if t.keyed() {
		q += " ON CONFLICT DO NOTHING"
	}
	b.Queue(q, args...)
}

func textArg(v any) any {
	s, ok := pgText(v)
	if !ok {
		return nil
	}
	return s
}

// keyWhere returns "k1 = $i AND …" for row n's key, the arguments appended to args.
func (t *simTable) keyWhere(n int64, args []any) (string, []any) {
	var conds []string
	for i, k := range t.key {
		j := slices.IndexFunc(t.ds.GetColumns(), func(c *modelv1.Column) bool { return c.GetName() == k.GetName() })
		args = append(args, textArg(t.rowKey(n)[i]))
		conds = append(conds, pgx.Identifier{k.GetName()}.Sanitize()+" = $"+strconv.Itoa(len(args))+"::text::"+t.physicalTypes[j])
	}
	return strings.Join(conds, " AND "), args
}

// churnStats counts one round of changes.
type churnStats struct{ inserts, updates, deletes int }

// churn makes a few changes to every simulated dataset: an insert, often an update, sometimes
// a delete (never in watermark sources, whose captures do not see deletes, nor keyless ones).
func (s *simulator) churn(ctx context.Context) (churnStats, error) {
	var cs churnStats
	for _, t := range s.tables {
		s.st.mu.Lock()
		next := s.st.Next[t.ref]
		if next == 0 {
			next = 1
		}
		s.st.Next[t.ref] = next + 1
		s.st.mu.Unlock()
		update := t.keyed() && s.r.IntN(2) == 0
		del := t.keyed() && t.watermark == "" && s.r.IntN(5) == 0
		victim := 1 + s.r.Int64N(max(next-1, 1))
		if t.sql() {
			b := &pgx.Batch{}
			s.queueInsert(b, t, next)
			cs.inserts++
			if update {
				s.queueUpdate(b, t, victim)
				cs.updates++
			}
			if del {
				where, args := t.keyWhere(1+s.r.Int64N(max(next-1, 1)), nil)
				b.Queue("DELETE FROM "+t.quoted()+" WHERE "+where, args...)
				cs.deletes++
			}
			if err := s.pools[t.db].SendBatch(ctx, b).Close(); err != nil {
				return cs, fmt.Errorf("%s: %w", t.ref, err)
			}
			continue
		}
		recs := s.cdcInsert(t, next, "c")
		cs.inserts++
		if update {
			recs = append(recs, s.cdcUpdate(t, victim)...)
			cs.updates++
		}
		if del {
			recs = append(recs, s.cdcDelete(t, 1+s.r.Int64N(max(next-1, 1)))...)
			cs.deletes++
		}
		if len(recs) > 0 {
			if err := s.kafka.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				return cs, fmt.Errorf("%s: %w", t.ref, err)
			}
		}
	}
	return cs, s.st.save()
}

// queueUpdate changes one or two non-key columns of row n (and its watermark or updated_at
// column to now).
func (s *simulator) queueUpdate(b *pgx.Batch, t *simTable, n int64) {
	var sets []string
	var args []any
	var candidates []int
	for i, c := range t.ds.GetColumns() {
		if slices.Contains(t.ds.GetPrimaryKey(), c.GetName()) {
			continue
		}
		if c.GetName() == t.watermark || (c.GetType().GetName() == "Timestamp" && strings.Contains(c.GetName(), "updated")) {
			args = append(args, textArg(time.Now().UTC().Truncate(time.Microsecond)))
			sets = append(sets, pgx.Identifier{c.GetName()}.Sanitize()+" = $"+strconv.Itoa(len(args))+"::text::"+t.physicalTypes[i])
			continue
		}
		candidates = append(candidates, i)
	}
	for k := 0; k < 2 && len(candidates) > 0; k++ {
		j := s.r.IntN(len(candidates))
		i := candidates[j]
		candidates = slices.Delete(candidates, j, j+1)
		c := t.ds.GetColumns()[i]
		args = append(args, textArg(genFor(s.r, c, c.GetNullable(), false)))
		sets = append(sets, pgx.Identifier{c.GetName()}.Sanitize()+" = $"+strconv.Itoa(len(args))+"::text::"+t.physicalTypes[i])
	}
	if len(sets) == 0 {
		return
	}
	where, args := t.keyWhere(n, args)
	b.Queue("UPDATE "+t.quoted()+" SET "+strings.Join(sets, ", ")+" WHERE "+where, args...)
}
