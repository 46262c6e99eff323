package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/gozk/gozk/internal/config"
	"github.com/gozk/gozk/internal/replication"
	"github.com/gozk/gozk/internal/server"
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
	if !cfg.Standalone() {
		fmt.Fprintf(os.Stderr, "gozk server: %s: ensemble configuration (server.N lines) is not supported yet; remove the server.N lines to run standalone\n", *cfgPath)
		return 2
	}
	if !cfg.ForceSync {
		log.Warn("forceSync=no: writes are acknowledged before they reach the disk")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "gozk server: dataDir: %v\n", err)
		return 1
	}
	id := cfg.MyID
	if id == 0 {
		id = 1 // a standalone server is member 1 of its one-member group
	}
	srv, err := server.New(server.Options{
		ID:                     cfg.MyID,
		Addr:                   cfg.ClientAddr(),
		TickTime:               cfg.TickTime,
		MinSessionTimeout:      cfg.MinSessionTimeout,
		MaxSessionTimeout:      cfg.MaxSessionTimeout,
		MaxClientCnxns:         cfg.MaxClientCnxns,
		MaxBuffer:              cfg.JuteMaxBuffer,
		FourLetterWords:        cfg.FourLetterWords,
		ExtendedTypes:          cfg.ExtendedTypesEnabled,
		ContainerCheckInterval: cfg.ContainerCheckInterval,
		ContainerMaxPerMinute:  cfg.ContainerMaxPerMinute,
		SuperDigest:            cfg.SuperDigest,
		MaxOutstanding:         cfg.GlobalOutstandingLimit,
		DataDir:                cfg.DataDir,
		DataLogDir:             cfg.LogDir(),
		ConfigDump:             configDump(cfg),
		Logger:                 log,
		Raft: &replication.RaftConfig{
			ID:           id,
			WALDir:       filepath.Join(cfg.LogDir(), "version-2", "wal"),
			SnapDir:      filepath.Join(cfg.DataDir, "version-2"),
			SnapCount:    uint64(cfg.SnapCount),
			SnapRetain:   cfg.AutopurgeSnapRetainCount,
			NoSync:       !cfg.ForceSync,
			PreAllocSize: cfg.PreAllocSize,
			Logger:       log,
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gozk server: %v\n", err)
		return 1
	}
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
