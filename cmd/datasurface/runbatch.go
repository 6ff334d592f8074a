package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/jackc/pgx/v5"
)

const runBatchSynopsis = `datasurface run-batch --model DIR --platform P --stream K
                        [--merge-dsn DSN] [--source-dsn DATASTORE=DSN]... [--model-version N]
                        [--set-role auto|always|never] [--transformer-as-merge-login]
                        [--archive-endpoint HOST:PORT [--archive-secure] [--archive-region R]]
                        [--kafka-security-protocol P] [--log-level warn]

Runs one whole batch of stream K (a datastore name, or datastore#dataset for a single-dataset
datastore) on Yellow platform P synchronously, without Temporal (yellow.md §6.3): reconcile the
stream's tables, open (or resume) the batch, ingest it from the source, merge and commit it,
reconcile the platform's workspace views. For a transformer output stream the ingest is the
transformer's run (yellow.md §10). One progress line per step goes to stdout; the last line
gives the batch's counts and duration.

The merge database and the sources are the ones the model names (their host, port and
database), logged in with the credentials of the PSP's credential store (environment variables
or files, model.md §4.16). For development and tests, --merge-dsn replaces the platform's merge
database and login, and --source-dsn DATASTORE=DSN a SQL datastore's source database and login
(repeatable). DSNs are libpq URLs or key=value strings. The raw batch archive and the Kafka
security protocol are set as for serve (--archive-*, --kafka-security-protocol, or their
DATASURFACE_* variables).

Exit code 0: the batch committed (or a transformer waits for its inputs); 1: the batch failed —
it is recorded failed with its reason in batch_metrics.state and the next run resumes it; 2: the
batch could not run (bad flags, unreadable model, unknown platform or stream, database
unreachable).`

// runBatchFlags are the flags of `datasurface run-batch`.
type runBatchFlags struct {
	model, platform, stream, mergeDSN, setRole, logLevel string
	sources                                              listFlag
	version                                              int64
	transformerAsMergeLogin                              bool
}

func (c *cli) runBatch(ctx context.Context, args []string) error {
	var f runBatchFlags
	fs := c.newFlagSet("run-batch", runBatchSynopsis)
	fs.StringVar(&f.model, "model", "", "the model `directory`")
	fs.StringVar(&f.platform, "platform", "", "the Yellow data `platform`")
	fs.StringVar(&f.stream, "stream", "", "the stream `key`: DATASTORE or DATASTORE#DATASET")
	fs.StringVar(&f.mergeDSN, "merge-dsn", "", "the merge database `dsn`, instead of the model's (development)")
	fs.Var(&f.sources, "source-dsn", "`DATASTORE=DSN`: a source database instead of the model's (repeatable; development)")
	fs.Int64Var(&f.version, "model-version", 0, "the model `version` recorded in the batch state")
	fs.StringVar(&f.setRole, "set-role", "auto", "DDL as the platform owner role: auto (when it exists), always or never")
	fs.BoolVar(&f.transformerAsMergeLogin, "transformer-as-merge-login", false, "run transformer queries with the merge login (development, no security service)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "lowest level of the services' log lines on stderr: debug, info, warn or error")
	var ingestf ingestFlags
	ingestf.bind(fs)
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if err := applyEnv(fs, c.getenv, ingestFlagNames...); err != nil {
		return err
	}
	if err := ingestf.check(); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageErrorf("run-batch: unexpected argument %q", fs.Arg(0))
	case f.model == "" || f.platform == "" || f.stream == "":
		fs.Usage()
		return usageErrorf("run-batch: --model, --platform and --stream are required")
	}
	role, err := merge.ParseSetRole(f.setRole)
	if err != nil {
		return usageErrorf("run-batch: --set-role: %v", err)
	}
	log, err := newLogger(c.stderr, "text", f.logLevel)
	if err != nil {
		return err
	}

	res, err := load.Dir(f.model, load.Options{Side: headSide})
	if err != nil {
		return cannotRun(fmt.Errorf("run-batch: %w", err))
	}
	ps := append([]problem.Problem(nil), res.Problems...)
	if res.Model != nil {
		ps = append(ps, lint.Run(res.Model, res.Source, lint.Options{Platforms: platformRules()})...)
	}
	if problem.HasAtLeast(ps, problem.Error) {
		problem.Sort(ps)
		w := bufio.NewWriter(c.stderr)
		gate.WriteProblems(w, ps)
		_ = w.Flush()
		return cannotRun(fmt.Errorf("run-batch: the model in %s has errors", f.model))
	}
	m := res.Model
	secrets := runBatchSecrets{
		overrides: map[string]ingest.Secret{},
		store: ingest.Credentials{
			LookupEnv: func(k string) (string, bool) { v := c.getenv(k); return v, v != "" },
			ReadFile:  os.ReadFile,
		},
	}
	if err := secrets.override(m, f.platform, f.mergeDSN, f.sources); err != nil {
		return usageErrorf("run-batch: %v", err)
	}

	models := staticModel{m}
	msvc, err := merge.New(merge.Config{SetRole: role, TransformerAsMergeLogin: f.transformerAsMergeLogin, MaxConns: 4},
		merge.Deps{Log: log, Models: models, Secrets: secrets})
	if err != nil {
		return cannotRun(err)
	}
	defer msvc.Close()
	isvc, err := ingest.New(ingestf.config(), ingest.Deps{Log: log, Models: models, Secrets: secrets})
	if err != nil {
		return cannotRun(err)
	}
	ing := isvc.Activities()
	version := merge.Version{ModelVersion: f.version, ModelDigest: res.Digest}

	out := c.stdout
	fmt.Fprintf(out, "run-batch: platform %s, stream %s, model %s (%s)\n", f.platform, f.stream, f.model, res.Digest)
	ingestStep := func(ctx context.Context, b int32) error {
		r, err := ing.IngestBatch(ctx, ingest.IngestBatchInput{
			Platform: f.platform, Stream: f.stream, BatchID: b,
			ModelVersion: f.version, ModelDigest: res.Digest, Model: m,
		})
		if err != nil {
			return &merge.Error{Activity: "IngestBatch", Permanent: ingest.IsPermanent(err), Err: err}
		}
		fmt.Fprintf(out, "  staged %s (%d bytes read)\n", counts(r.Rows), r.Bytes)
		return nil
	}
	cy, err := msvc.Activities().RunCycle(ctx, merge.CycleInput{
		Platform: f.platform, Stream: f.stream, Version: version,
		Progress: func(line string) { fmt.Fprintln(out, line) },
	}, ingestStep)
	return runBatchOutcome(out, f, cy, err)
}

// runBatchOutcome prints the last line and maps the outcome to the exit code.
func runBatchOutcome(w io.Writer, f runBatchFlags, cy merge.CycleResult, err error) error {
	switch {
	case err == nil && cy.Status == "noop":
		fmt.Fprintf(w, "stream %s of %s: nothing new on its primary platform (latest committed batch %d); no batch started\n", f.stream, f.platform, cy.Start.RemoteBatch)
		return nil
	case err == nil && cy.Status == "waiting":
		fmt.Fprintf(w, "stream %s of %s: the transformer waits for committed input batches; no batch started\n", f.stream, f.platform)
		return nil
	case err == nil:
		m := cy.Merge
		fmt.Fprintf(w, "batch %d of %s on %s committed: inserted %d, updated %d, deleted %d, total %d, duration %s\n",
			m.Batch, f.stream, f.platform, m.Inserted, m.Updated, m.Deleted, m.Total, cy.Duration.Round(time.Millisecond))
		return nil
	case cy.Status == "failed":
		fmt.Fprintf(w, "batch %d of %s on %s failed (recorded in batch_metrics; the next run resumes it)\n", cy.Start.Batch, f.stream, f.platform)
		return &exitError{Code: exitProblems, Err: fmt.Errorf("run-batch: %w", err)}
	case cy.Status == "committed":
		// Committed, but the views could not be reconciled: the next run does it.
		fmt.Fprintf(w, "batch %d of %s on %s committed; reconciling the views failed\n", cy.Merge.Batch, f.stream, f.platform)
		return &exitError{Code: exitProblems, Err: fmt.Errorf("run-batch: %w", err)}
	}
	return cannotRun(fmt.Errorf("run-batch: %w", err))
}

func counts(rows map[string]int64) string {
	if len(rows) == 0 {
		return "no rows"
	}
	parts := make([]string, 0, len(rows))
	for k, v := range rows {
		parts = append(parts, k+"="+strconv.FormatInt(v, 10))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// staticModel is the one model of a run-batch, whatever version is asked for.
type staticModel struct{ m *modelv1.Model }

func (s staticModel) Model(context.Context, int64, string) (*modelv1.Model, error) { return s.m, nil }

// runBatchSecrets resolves credentials through the PSP's credential store (env and file stores),
// except those of the databases replaced by --merge-dsn and --source-dsn. It serves both the
// ingest service (Resolve) and the merge service (UserPassword).
type runBatchSecrets struct {
	overrides map[string]ingest.Secret
	store     ingest.Credentials
}

func (s runBatchSecrets) Resolve(ctx context.Context, store *modelv1.CredentialStore, cred *modelv1.Credential) (ingest.Secret, error) {
	if sec, ok := s.overrides[cred.GetName()]; ok {
		return sec, nil
	}
	return s.store.Resolve(ctx, store, cred)
}

func (s runBatchSecrets) UserPassword(ctx context.Context, store *modelv1.CredentialStore, name string) (string, string, error) {
	sec, err := s.Resolve(ctx, store, &modelv1.Credential{Name: name, Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD})
	return sec.User, sec.Password, err
}

// Credential names of the replaced databases: never valid model names' clashes, since the
// model's own credentials of those databases are replaced too.
const (
	mergeOverrideCredential  = "DATASURFACE_RUN_BATCH_MERGE"
	sourceOverrideCredential = "DATASURFACE_RUN_BATCH_SOURCE_"
)

// override replaces, in model m, platform d's merge database and the sources named in sources
// (DATASTORE=DSN) by the databases of the DSNs, with their logins.
func (s runBatchSecrets) override(m *modelv1.Model, d, mergeDSN string, sources []string) error {
	x := index.New(m)
	if mergeDSN != "" {
		y := x.Yellow(d)
		if y == nil {
			return fmt.Errorf("--merge-dsn: platform %q is not a Yellow platform of the model", d)
		}
		host, sec, err := parseDSN(mergeDSN)
		if err != nil {
			return fmt.Errorf("--merge-dsn: %w", err)
		}
		// Platforms sharing d's merge database (a primary a secondary copies from, yellow.md §8)
		// move with it; they keep their own credentials.
		was := y.GetMergeDatabase().GetPostgres()
		for name, other := range x.Platforms {
			o := other.GetYellow().GetMergeDatabase().GetPostgres()
			if name != d && o != nil && was != nil && o.GetHost() == was.GetHost() && o.GetPort() == was.GetPort() && o.GetDatabase() == was.GetDatabase() {
				other.GetYellow().MergeDatabase = &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: host}}
			}
		}
		y.MergeDatabase = &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: host}}
		y.MergeCredential = &modelv1.Credential{Name: mergeOverrideCredential, Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD}
		s.overrides[mergeOverrideCredential] = sec
	}
	for i, src := range sources {
		name, dsn, ok := strings.Cut(src, "=")
		if !ok || name == "" || dsn == "" {
			return fmt.Errorf("--source-dsn %q: want DATASTORE=DSN", src)
		}
		store := x.Datastores[name]
		if store == nil {
			return fmt.Errorf("--source-dsn: datastore %q is not in the model", name)
		}
		host, sec, err := parseDSN(dsn)
		if err != nil {
			return fmt.Errorf("--source-dsn %s: %w", name, err)
		}
		cred := &modelv1.Credential{Name: sourceOverrideCredential + strconv.Itoa(i), Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD}
		container := &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: host}}
		switch k := store.GetCapture().GetKind().(type) {
		case *modelv1.CaptureMetadata_SqlSnapshot:
			k.SqlSnapshot.Container, k.SqlSnapshot.Credential = container, cred
		case *modelv1.CaptureMetadata_SqlWatermark:
			k.SqlWatermark.Container, k.SqlWatermark.Credential = container, cred
		default:
			return fmt.Errorf("--source-dsn: datastore %q does not read a SQL source", name)
		}
		s.overrides[cred.Name] = sec
	}
	return nil
}

// parseDSN reads a libpq DSN (URL or key=value) into a postgres container and its login.
func parseDSN(dsn string) (*modelv1.HostDatabase, ingest.Secret, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords only on a best-effort basis: say nothing of the string.
		return nil, ingest.Secret{}, errors.New("the connection string cannot be parsed")
	}
	if cfg.Host == "" || cfg.Database == "" {
		return nil, ingest.Secret{}, errors.New("the connection string must name a host and a database")
	}
	host := &modelv1.HostDatabase{Name: "run-batch", Host: cfg.Host, Port: int32(cfg.Port), Database: cfg.Database}
	return host, ingest.Secret{User: cfg.User, Password: cfg.Password}, nil
}
