// Package cli is gozk's zkCli.sh-compatible shell: the same commands, syntax,
// output and error messages as Apache ZooKeeper 3.8's ZooKeeperMain, on top of
// the client package.
package cli

import (
	"fmt"
	"io"
)

// Main runs the shell with the arguments that follow "gozk cli" and returns
// the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "gozk cli: not implemented yet")
	return 1
}
