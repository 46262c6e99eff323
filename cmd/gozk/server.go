package main

import (
	"flag"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/gozk/gozk/internal/config"
	"github.com/gozk/gozk/internal/replica"
	"github.com/gozk/gozk/internal/replication"
	"github.com/gozk/gozk/internal/replication/transport"
	"github.com/gozk/gozk/internal/server"
	"github.com/gozk/gozk/internal/throttle"
)

func versionString() string { return "gozk " + server.Version }

func runServer(args []string) int {
	fs := flag.NewFlagSet("gozk server", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "path of a ZooKeeper zoo.cfg (default: standalone on port 2181, data in ./data)")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "gozk server: --log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	cfg := config.Default()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			fmt.Fprintf(os.Stderr, "gozk server: %v\n", err)
			return 2
		}
	}
	for _, w := range cfg.Warnings {
		log.Warn("configuration", "note", w)
	}
	if !cfg.ForceSync {
		log.Warn("forceSync=no: writes are acknowledged before they reach the disk")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "gozk server: dataDir: %v\n", err)
		return 1
	}
	raftCfg := &replication.RaftConfig{
		WALDir:       filepath.Join(cfg.LogDir(), "version-2", "wal"),
		SnapDir:      filepath.Join(cfg.DataDir, "version-2"),
		SnapCount:    uint64(cfg.SnapCount),
		SnapRetain:   cfg.AutopurgeSnapRetainCount,
		NoSync:       !cfg.ForceSync,
		PreAllocSize: cfg.PreAllocSize,
		Logger:       log,
	}
	serverID := uint64(0) // standalone
	if cfg.Standalone() {
		raftCfg.ID = 1 // a standalone server is member 1 of its one-member group
	} else {
		serverID = cfg.MyID
		ensemble(cfg, raftCfg, log)
	}
	rep := replica.New(replica.Options{
		ID:            serverID,
		ExtendedTypes: cfg.ExtendedTypesEnabled,
		TickTime:      cfg.TickTime,
		Logger:        log,
	})
	raftLog, err := replication.StartRaft(*raftCfg, rep)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gozk server: %v\n", err)
		return 1
	}
	srv := server.New(server.Options{
		ID:                     serverID,
		Addr:                   cfg.ClientAddr(),
		TickTime:               cfg.TickTime,
		MinSessionTimeout:      cfg.MinSessionTimeout,
		MaxSessionTimeout:      cfg.MaxSessionTimeout,
		MaxClientCnxns:         cfg.MaxClientCnxns,
		MaxBuffer:              cfg.JuteMaxBuffer,
		FourLetterWords:        cfg.FourLetterWords,
		ContainerCheckInterval: cfg.ContainerCheckInterval,
		ContainerMaxPerMinute:  cfg.ContainerMaxPerMinute,
		SuperDigest:            cfg.SuperDigest,
		ExistsSkipsACL:         !cfg.ExistsChecksACL,
		MaxOutstanding:         cfg.GlobalOutstandingLimit,
		Throttle:               connectionThrottle(cfg.ConnectionThrottle),
		DataDir:                cfg.DataDir,
		DataLogDir:             cfg.LogDir(),
		ConfigDump:             configDump(cfg),
		Logger:                 log,
	}, rep, raftLog)
	if err := srv.Listen(); err != nil {
		fmt.Fprintf(os.Stderr, "gozk server: %v\n", err)
		return 1
	}
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigc
		log.Info("shutting down", "signal", s.String())
		srv.Close()
	}()
	log.Info("gozk starting", "version", server.Version, "config", *cfgPath, "dataDir", cfg.DataDir)
	if err := srv.Serve(); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

// ensemble fills in the raft group from the server.N lines. Raft ticks are a
// twentieth of tickTime, and the leader heartbeats every tick. A follower
// starts an election after 2*syncLimit to 4*syncLimit ticks of silence
// (tickTime/2 to tickTime with the usual syncLimit=5): syncLimit is how long
// ZooKeeper lets a follower lag, and raising it makes elections rarer on a
// slow network. A leader whose process dies is replaced at once: its
// followers see the connection reset. initLimit has no counterpart: a new or
// lagging server catches up from the log or a snapshot, however long it takes.
func ensemble(cfg *config.Config, rc *replication.RaftConfig, log *slog.Logger) {
	rc.ID = cfg.MyID
	rc.TickInterval = max(cfg.TickTime/20, 10*time.Millisecond)
	rc.ElectionTicks = max(2*cfg.SyncLimit, 4)
	rc.HeartbeatTicks = 1
	log.Info("ensemble timing", "tick", rc.TickInterval, "electionTimeout", time.Duration(rc.ElectionTicks)*rc.TickInterval,
		"note", "initLimit is not used: members catch up from the log or a snapshot")
	h := fnv.New64a()
	for _, s := range cfg.Servers {
		rc.Members = append(rc.Members, replication.Member{ID: s.ID, Learner: s.Observer})
		addr := net.JoinHostPort(s.Host, strconv.Itoa(s.QuorumPort))
		fmt.Fprintf(h, "%d=%s;%v\n", s.ID, addr, s.Observer)
		if s.ID == cfg.MyID {
			rc.ListenAddr = addr
			log.Info("the election port is not used: gozk elects leaders over the quorum port", "electionPort", s.ElectionPort)
			continue
		}
		rc.Peers = append(rc.Peers, transport.Peer{ID: s.ID, Addr: addr})
	}
	rc.ClusterID = h.Sum64()
}

// configDump renders the configuration as ZooKeeper's conf four-letter word does.
func configDump(c *config.Config) []string {
	lines := []string{
		fmt.Sprintf("clientPort=%d", c.ClientPort),
		"secureClientPort=-1",
		fmt.Sprintf("dataDir=%s", filepath.Join(c.DataDir, "version-2")),
		fmt.Sprintf("dataDirSize=%d", 0),
		fmt.Sprintf("dataLogDir=%s", filepath.Join(c.LogDir(), "version-2")),
		fmt.Sprintf("dataLogSize=%d", 0),
		fmt.Sprintf("tickTime=%d", c.TickTime.Milliseconds()),
		fmt.Sprintf("maxClientCnxns=%d", c.MaxClientCnxns),
		fmt.Sprintf("minSessionTimeout=%d", c.MinSessionTimeout.Milliseconds()),
		fmt.Sprintf("maxSessionTimeout=%d", c.MaxSessionTimeout.Milliseconds()),
		fmt.Sprintf("clientPortListenBacklog=%d", -1),
		fmt.Sprintf("serverId=%d", c.MyID),
	}
	return lines
}

// connectionThrottle is the throttle zoo.cfg configures, or nil when it is
// disabled (no tokens, ZooKeeper's default).
func connectionThrottle(c config.ConnectionThrottle) interface{ Allow() bool } {
	if c.Tokens <= 0 {
		return nil
	}
	return throttle.New(throttle.Config{
		Tokens: c.Tokens, FillCount: c.FillCount, FillTime: c.FillTime, FreezeTime: c.FreezeTime,
		DropIncrease: c.DropIncrease, DropDecrease: c.DropDecrease, DecreaseRatio: c.DecreaseRatio,
	})
}
