// Package bench is gozk's load generator: concurrent client sessions issuing
// creates, setData or getData against any ZooKeeper-compatible server, with
// throughput and latency percentiles (including the worst request, which shows
// stalls) reported at the end and once a second.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gozk/gozk/internal/client"
	"github.com/gozk/gozk/internal/proto"
)

// Config describes a run.
type Config struct {
	Servers     []string
	Clients     int           // concurrent sessions
	InFlight    int           // outstanding requests per session
	Ops         int           // total operations (0: until Duration)
	Duration    time.Duration // upper bound on the run
	Op          string        // "create", "set", "get" or "mixed" (ReadPercent% get, the rest set)
	ReadPercent int           // mixed: percentage of gets (default 80)
	DataSize    int
	Prefix      string // parent path of the nodes
	Keys        int    // nodes used by set and get
	Progress    io.Writer
	SessionTime time.Duration
}

// Result summarises a run.
type Result struct {
	Ops       int64
	Errors    int64
	Elapsed   time.Duration
	Latencies []time.Duration // sorted
}

// Percentile returns the p-th percentile latency (p in [0,100]).
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies)-1) * p / 100)
	return r.Latencies[i]
}

func (r *Result) String() string {
	return fmt.Sprintf("%d ops, %d errors in %v: %.0f ops/s; latency p50 %v p99 %v p99.9 %v max %v",
		r.Ops, r.Errors, r.Elapsed.Round(time.Millisecond), float64(r.Ops)/r.Elapsed.Seconds(),
		r.Percentile(50), r.Percentile(99), r.Percentile(99.9), r.Percentile(100))
}

// setupTimeout bounds connecting the sessions and creating the nodes a run
// reads or overwrites.
const setupTimeout = 2 * time.Minute

// Run executes a benchmark.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Clients <= 0 {
		cfg.Clients = 16
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 1
	}
	if cfg.Duration <= 0 {
		cfg.Duration = time.Minute
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/gozk-bench"
	}
	if cfg.Keys <= 0 {
		cfg.Keys = 1000
	}
	if cfg.ReadPercent <= 0 || cfg.ReadPercent > 100 {
		cfg.ReadPercent = 80
	}
	if cfg.SessionTime <= 0 {
		cfg.SessionTime = 30 * time.Second
	}
	// Connecting and preparing the nodes are not part of the run: they get
	// their own time, and the run's Duration starts after them.
	setup, cancelSetup := context.WithTimeout(ctx, setupTimeout)
	defer cancelSetup()
	conns := make([]*client.Conn, cfg.Clients)
	for i := range conns {
		c, err := client.Dial(setup, cfg.Servers, cfg.SessionTime)
		if err != nil {
			return nil, fmt.Errorf("bench: connecting: %w", err)
		}
		defer c.Close()
		conns[i] = c
	}
	data := make([]byte, cfg.DataSize)
	if err := prepare(setup, conns[0], cfg, data); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		issued, done, errs atomic.Int64
		mu                 sync.Mutex
		lats               = make([]time.Duration, 0, 1<<16)
		wg                 sync.WaitGroup
	)
	start := time.Now()
	stopProgress := make(chan struct{})
	if cfg.Progress != nil {
		go progress(cfg.Progress, &done, stopProgress)
	}
	for i, c := range conns {
		for j := 0; j < cfg.InFlight; j++ {
			wg.Add(1)
			go func(worker int, c *client.Conn) {
				defer wg.Done()
				local := make([]time.Duration, 0, 1024)
				for n := 0; ; n++ {
					k := issued.Add(1)
					if cfg.Ops > 0 && k > int64(cfg.Ops) || ctx.Err() != nil {
						break
					}
					t0 := time.Now()
					err := one(ctx, c, cfg, data, worker, n, k)
					if ctx.Err() != nil {
						break // cut off by the end of the run: not counted
					}
					local = append(local, time.Since(t0))
					if err != nil {
						errs.Add(1)
					}
					done.Add(1)
				}
				mu.Lock()
				lats = append(lats, local...)
				mu.Unlock()
			}(i*cfg.InFlight+j, c)
		}
	}
	wg.Wait()
	close(stopProgress)
	res := &Result{Ops: done.Load(), Errors: errs.Load(), Elapsed: time.Since(start), Latencies: lats}
	slices.Sort(res.Latencies)
	return res, nil
}

func prepare(ctx context.Context, c *client.Conn, cfg Config, data []byte) error {
	if _, err := c.Create(ctx, cfg.Prefix, nil, proto.OpenACLUnsafe, proto.ModePersistent); err != nil && !errors.Is(err, proto.ErrNodeExists) {
		return fmt.Errorf("bench: creating %s: %w", cfg.Prefix, err)
	}
	if cfg.Op == "create" {
		return nil
	}
	for i := 0; i < cfg.Keys; i++ {
		p := fmt.Sprintf("%s/k%d", cfg.Prefix, i)
		if _, err := c.Create(ctx, p, data, proto.OpenACLUnsafe, proto.ModePersistent); err != nil && !errors.Is(err, proto.ErrNodeExists) {
			return fmt.Errorf("bench: creating %s: %w", p, err)
		}
	}
	return nil
}

func one(ctx context.Context, c *client.Conn, cfg Config, data []byte, worker, n int, k int64) error {
	key := fmt.Sprintf("%s/k%d", cfg.Prefix, int(k)%cfg.Keys)
	switch cfg.Op {
	case "create":
		_, err := c.Create(ctx, fmt.Sprintf("%s/w%d-%d", cfg.Prefix, worker, n), data, proto.OpenACLUnsafe, proto.ModePersistent)
		return err
	case "set":
		_, err := c.SetData(ctx, key, data, -1)
		return err
	case "get":
		_, _, err := c.GetData(ctx, key, false)
		return err
	default: // mixed: of every 100 consecutive requests, ReadPercent are gets
		if int(k%100) >= cfg.ReadPercent {
			_, err := c.SetData(ctx, key, data, -1)
			return err
		}
		_, _, err := c.GetData(ctx, key, false)
		return err
	}
}

func progress(w io.Writer, done *atomic.Int64, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := int64(0)
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			n := done.Load()
			fmt.Fprintf(w, "%d ops/s (%d total)\n", n-last, n)
			last = n
		}
	}
}
