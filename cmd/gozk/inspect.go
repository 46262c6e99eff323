package main

import (
	"fmt"
	"io"

	"github.com/gozk/gozk/internal/config"
	"github.com/gozk/gozk/internal/inspect"
)

const inspectUsage = `usage:
  gozk inspect log DIR                 print the write-ahead log (DIR: dataLogDir or the wal directory)
  gozk inspect snapshot FILE           print a snapshot's sessions and nodes
  gozk inspect verify DATADIR [LOGDIR] verify every checksum of a data directory
  gozk inspect verify --config zoo.cfg
`

func runInspect(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, inspectUsage)
		return 2
	}
	var err error
	switch args[0] {
	case "log":
		err = inspect.Log(stdout, args[1])
	case "snapshot":
		err = inspect.Snapshot(stdout, args[1])
	case "verify":
		dataDir, logDir := args[1], ""
		if len(args) > 2 {
			logDir = args[2]
		}
		if args[1] == "--config" && len(args) > 2 {
			cfg, cerr := config.Load(args[2])
			if cerr != nil {
				fmt.Fprintf(stderr, "gozk inspect: %v\n", cerr)
				return 2
			}
			dataDir, logDir = cfg.DataDir, cfg.LogDir()
		}
		err = inspect.Verify(stdout, dataDir, logDir)
	default:
		fmt.Fprint(stderr, inspectUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "gozk inspect: %v\n", err)
		return 1
	}
	return 0
}
