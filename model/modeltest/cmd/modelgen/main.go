// Command modelgen writes a synthetic model tree (package modeltest) and, optionally, a head copy
// with a one-team change, for benchmarks such as `make bench`:
//
//	go run ./model/modeltest/cmd/modelgen -o /dev/shm/base -head /dev/shm/head -change Zone03/Team07
//
// It prints the repository to pass as --source for the change. Generation is I/O bound: use a
// tmpfs (/dev/shm) for large models.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/datasurface/datasurface/model/modeltest"
)

func main() {
	cfg := modeltest.DefaultConfig()
	out := flag.String("o", "", "directory to write the model to (required)")
	head := flag.String("head", "", "also copy the model here and apply -change to the copy")
	team := flag.String("change", "Zone00/Team00", "team key Zone/Team whose change -head applies")
	flag.IntVar(&cfg.Zones, "zones", cfg.Zones, "governance zones")
	flag.IntVar(&cfg.TeamsPerZone, "teams", cfg.TeamsPerZone, "teams per zone")
	flag.IntVar(&cfg.Datastores, "datastores", cfg.Datastores, "datastores")
	flag.IntVar(&cfg.DatasetsPerDatastore, "datasets", cfg.DatasetsPerDatastore, "datasets per datastore")
	flag.IntVar(&cfg.ColumnsPerDataset, "columns", cfg.ColumnsPerDataset, "columns per dataset")
	flag.IntVar(&cfg.Workspaces, "workspaces", cfg.Workspaces, "workspaces")
	flag.IntVar(&cfg.SinksPerWorkspace, "sinks", cfg.SinksPerWorkspace, "sinks per workspace")
	flag.Int64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	quiet := flag.Bool("q", false, "print only the --source repository of the change")
	flag.Parse()
	if *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	start := time.Now()
	if err := modeltest.Generate(*out, cfg); err != nil {
		fail(err)
	}
	if !*quiet {
		fmt.Fprintf(os.Stderr, "modelgen: wrote %s in %v\n", *out, time.Since(start).Round(time.Millisecond))
	}
	if *head == "" {
		return
	}
	if err := modeltest.CopyTree(*out, *head); err != nil {
		fail(err)
	}
	if err := modeltest.Change(*head, *team); err != nil {
		fail(err)
	}
	if !*quiet {
		fmt.Fprintf(os.Stderr, "modelgen: wrote %s (change of %s)\n", *head, *team)
	}
	fmt.Println(modeltest.TeamRepo(*team))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "modelgen:", err)
	os.Exit(1)
}
