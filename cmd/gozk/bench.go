package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gozk/gozk/internal/bench"
)

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gozk bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	servers := fs.String("server", "127.0.0.1:2181", "comma-separated host:port list")
	clients := fs.Int("clients", 16, "concurrent sessions")
	inflight := fs.Int("inflight", 1, "outstanding requests per session")
	ops := fs.Int("ops", 100000, "operations in all (0: run for -duration)")
	dur := fs.Duration("duration", time.Minute, "longest run")
	op := fs.String("op", "create", "create, set, get or mixed (-reads% get, the rest set)")
	reads := fs.Int("reads", 80, "mixed: percentage of gets (1-100)")
	size := fs.Int("size", 100, "data bytes per node")
	prefix := fs.String("prefix", "/gozk-bench", "parent of the nodes")
	keys := fs.Int("keys", 1000, "nodes used by set, get and mixed")
	quiet := fs.Bool("quiet", false, "no per-second progress")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := bench.Config{
		Servers: strings.Split(*servers, ","), Clients: *clients, InFlight: *inflight, Ops: *ops,
		Duration: *dur, Op: *op, ReadPercent: *reads, DataSize: *size, Prefix: *prefix, Keys: *keys,
	}
	if !*quiet {
		cfg.Progress = stdout
	}
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintf(stderr, "gozk bench: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, res)
	return 0
}
