// Command gozk is a ZooKeeper-compatible coordination server and its shell.
//
//	gozk server [--config zoo.cfg]        run a server
//	gozk cli [-server host:port] [cmd...]  the zkCli-compatible shell
//	gozk inspect log|snapshot|verify ...   print or verify on-disk state
package main

import (
	"fmt"
	"os"

	"github.com/gozk/gozk/internal/cli"
)

const usage = `usage: gozk <command> [arguments]

commands:
  server [--config zoo.cfg] [--log-level info]   run a gozk server
  cli [-server host:port] [command ...]           ZooKeeper shell (zkCli.sh compatible)
  inspect log|snapshot|verify ...                 print or verify on-disk state
  bench [-server host:port] [-op create|set|get|mixed] ...   load generator
  version                                         print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		os.Exit(runServer(os.Args[2:]))
	case "cli":
		os.Exit(cli.Main(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	case "bench":
		os.Exit(runBench(os.Args[2:], os.Stdout, os.Stderr))
	case "inspect":
		os.Exit(runInspect(os.Args[2:], os.Stdout, os.Stderr))
	case "version", "--version", "-version":
		fmt.Println(versionString())
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "gozk: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
