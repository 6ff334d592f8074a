package load

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeSynthetic writes a model of stores datastore files (10 datasets of 5 columns each, about
// 2.9 KB) plus an ecosystem and a zone file under dir.
func writeSynthetic(tb testing.TB, dir string, stores int) {
	tb.Helper()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write("ecosystem.yaml", "apiVersion: datasurface/v1\nkind: Ecosystem\nmetadata: {name: Bench}\nspec:\n  owningRepo: acme/model@eco\n  liveRepo: acme/model@main\n  zones:\n    - {name: Z, owningRepo: acme/model@z}\n")
	write("zone.yaml", "apiVersion: datasurface/v1\nkind: GovernanceZone\nmetadata: {name: Z}\nspec:\n  teams:\n    - {name: T, owningRepo: acme/model@t}\n")
	var b strings.Builder
	for i := range stores {
		b.Reset()
		fmt.Fprintf(&b, `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: Store%d, zone: Z, team: T}
spec:
  documentation: Synthetic store %d
  productionStatus: PRODUCTION
  capture:
    sqlSnapshot:
      container:
        postgres: {host: db%d.example.internal, database: store%d, locations: ["Acme:EU"]}
      credential: {name: STORE%d, type: USER_PASSWORD}
      consistency: MULTI_DATASET
      trigger: {cron: "*/10 * * * *"}
  datasets:
`, i, i, i, i, i)
		for d := range 10 {
			fmt.Fprintf(&b, `    - name: table%d
      documentation: Table %d of store %d
      classifications: [IP]
      primaryKey: [id]
      columns:
        - {name: id, type: BigInt, nullable: false}
        - {name: name, type: VarChar(100), classifications: [PC1]}
        - {name: amount, type: "Decimal(12,2)"}
        - {name: placed_at, type: Timestamp, nullable: false}
        - name: note
          type: String
`, d, d, i)
		}
		write(fmt.Sprintf("teams/t/store%05d.yaml", i), b.String())
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, stores := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("datastores=%d", stores), func(b *testing.B) {
			if stores > 1000 && testing.Short() {
				b.Skip("short")
			}
			dir := b.TempDir()
			writeSynthetic(b, dir, stores)
			b.ResetTimer()
			cpu0 := cpuTime()
			var last *Result
			for b.Loop() {
				r, err := Dir(dir, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if len(r.Problems) > 0 {
					b.Fatalf("problems: %v", r.Problems[0])
				}
				if len(r.Model.Datastores) != stores {
					b.Fatalf("%d datastores", len(r.Model.Datastores))
				}
				last = r
			}
			// CPU time (all threads) is steadier than wall time on a shared machine.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			// The source map is lazy: counting its keys resolves every document, outside the
			// measured loop.
			b.ReportMetric(float64(last.Source.Len()), "srcmap-keys")
		})
	}
}
