// Package cli is gozk's zkCli.sh-compatible shell: the commands, syntax,
// output, error messages and exit statuses of Apache ZooKeeper 3.8's
// ZooKeeperMain, on top of the client package.
//
// As in zkCli.sh, normal output goes to stdout and errors to stderr, except
// that "Created /path" goes to stderr and watch events ("WATCHER::") to
// stdout. With a command on the command line the shell runs it once and
// exits with its status (0, 1 for a failed command, 127 for an unknown one);
// without, it reads commands from stdin: with line editing, history
// (~/.gozk_history) and a prompt when stdin is a terminal, line by line
// otherwise.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gozk/gozk/internal/client"
	"github.com/gozk/gozk/internal/proto"
)

// Exit statuses.
const (
	exitOK       = 0
	exitError    = 1 // CliException's default
	exitNotFound = 127
)

// cliError is a failed command: its message goes to stderr and its code
// becomes the exit status.
type cliError struct {
	msg  string
	code int
}

func (e *cliError) Error() string { return e.msg }

func failf(format string, a ...any) error {
	return &cliError{msg: fmt.Sprintf(format, a...), code: exitError}
}

// shell is one zkCli session.
type shell struct {
	stdin  io.Reader
	out    io.Writer // synchronized
	errw   io.Writer // synchronized
	outMu  *sync.Mutex
	loc    *time.Location
	logger *slog.Logger

	host     string
	timeout  time.Duration
	readOnly bool

	conn         *client.Conn
	printWatches atomic.Bool
	silent       atomic.Bool // stop printing events (quitting)

	history      map[int]string
	commandCount int
	exitCode     int
	quit         bool
}

// lockedWriter serializes writes of the command and event goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// options are the command-line flags, parsed as ZooKeeperMain.parseOptions does.
type options struct {
	server   string
	timeout  string
	readOnly bool
	command  []string
}

// parseFlags reads the flags before the first non-flag argument; the rest is
// the command. Unknown flags are ignored, as zkCli does.
func parseFlags(args []string) (options, error) {
	o := options{server: "localhost:2181", timeout: "30000"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		needValue := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("Error: no argument found for option %s", a)
			}
			i++
			return args[i], nil
		}
		var err error
		switch a {
		case "-server":
			o.server, err = needValue()
		case "-timeout":
			o.timeout, err = needValue()
		case "-r":
			o.readOnly = true
		case "-client-configuration":
			_, err = needValue()
		case "-waitforconnection":
		default:
			if !strings.HasPrefix(a, "-") {
				o.command = args[i:]
				return o, nil
			}
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// Main runs the shell with the arguments that follow "gozk cli" and returns
// the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(args, stdin, stdout, stderr, time.Local)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer, loc *time.Location) int {
	o, err := parseFlags(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	timeout, err := strconv.Atoi(o.timeout)
	if err != nil {
		fmt.Fprintf(stderr, "For input string: %q\n", o.timeout)
		return exitError
	}
	mu := &sync.Mutex{}
	sh := &shell{
		stdin:    stdin,
		out:      lockedWriter{mu, stdout},
		errw:     lockedWriter{mu, stderr},
		outMu:    mu,
		loc:      loc,
		logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		host:     o.server,
		timeout:  time.Duration(timeout) * time.Millisecond,
		readOnly: o.readOnly,
		history:  map[int]string{},
	}
	sh.printWatches.Store(true)
	fmt.Fprintln(sh.out, "Connecting to "+o.server)
	term, isTerm := terminalInput(stdin)
	if o.command == nil {
		// zkCli connects in the background: its welcome comes before the
		// SyncConnected event.
		fmt.Fprintln(sh.out, "Welcome to ZooKeeper!")
		if isTerm {
			fmt.Fprintln(sh.out, "JLine support is enabled")
		} else {
			fmt.Fprintln(sh.out, "JLine support is disabled")
		}
	}
	connErr := sh.connect(o.server)
	if connErr != nil {
		fmt.Fprintln(sh.errw, connErr)
	}
	defer sh.shutdown()
	if o.command != nil {
		if connErr != nil {
			return exitError
		}
		sh.processCmd(o.command)
		return sh.exitCode
	}
	if isTerm {
		sh.readlineLoop(term, stdout, stderr)
	} else {
		sh.plainLoop()
	}
	return sh.exitCode
}

// executeLine runs one line of input: blank lines are skipped, others are
// numbered and kept in the history.
func (sh *shell) executeLine(line string) {
	args := splitLine(line)
	if len(args) == 0 {
		return
	}
	sh.history[sh.commandCount] = line
	sh.processCmd(args)
	sh.commandCount++
}

// processCmd runs a command and sets the exit status.
func (sh *shell) processCmd(args []string) {
	if args[0] == "quit" {
		// zkCli closes the session and exits with the status of the
		// command before.
		sh.closeConn(false)
		sh.quit = true
		return
	}
	err := sh.processZKCmd(args)
	sh.waitEvents()
	sh.exitCode = exitOK
	if err != nil {
		if ce, ok := err.(*cliError); ok {
			sh.exitCode = ce.code
			if ce.msg != "" {
				fmt.Fprintln(sh.errw, ce.msg)
			}
		} else {
			sh.exitCode = exitError
			fmt.Fprintln(sh.errw, err)
		}
	}
}

func (sh *shell) processZKCmd(args []string) error {
	cmd := args[0]
	switch cmd {
	case "redo":
		if len(args) >= 2 {
			i, err := strconv.ParseInt(args[1], 0, 32)
			if err != nil {
				return failf("For input string: %q", args[1])
			}
			if int(i) >= sh.commandCount || i < 0 {
				return failf("Command index out of range")
			}
			line := sh.history[int(i)]
			again := splitLine(line)
			if len(again) > 0 && again[0] == "redo" {
				return failf("No redoing redos")
			}
			sh.history[sh.commandCount] = line
			sh.processCmd(again)
		}
	case "history":
		for i := sh.commandCount - 10; i <= sh.commandCount; i++ {
			if i < 0 {
				continue
			}
			fmt.Fprintf(sh.out, "%d - %s\n", i, sh.history[i])
		}
	case "printwatches":
		if len(args) == 1 {
			state := "off"
			if sh.printWatches.Load() {
				state = "on"
			}
			fmt.Fprintln(sh.out, "printwatches is "+state)
		} else {
			sh.printWatches.Store(args[1] == "on")
		}
	case "connect":
		host := sh.host
		if len(args) >= 2 {
			host = args[1]
		}
		if err := sh.connect(host); err != nil {
			fmt.Fprintln(sh.errw, err)
		}
	case "help":
		sh.usage()
		return nil
	}
	c, known := commands[cmd]
	if !known && !specialCommands[cmd] {
		sh.usage()
		return &cliError{msg: "Command not found: Command not found " + cmd, code: exitNotFound}
	}
	if sh.conn == nil || !sh.conn.State().Alive() {
		fmt.Fprintln(sh.out, "Not connected")
		return nil
	}
	if !known {
		return nil
	}
	p, err := parseOptions(c.opts, args)
	if err != nil {
		return failf("%s", err)
	}
	return c.run(sh, p)
}

// specialCommands are handled by processZKCmd itself.
var specialCommands = map[string]bool{"connect": true, "history": true, "redo": true, "printwatches": true, "quit": true}

// usage prints the list of commands to stderr, as ZooKeeperMain.usage does.
func (sh *shell) usage() {
	var b strings.Builder
	b.WriteString("ZooKeeper -server host:port -client-configuration properties-file cmd args\n")
	for _, name := range commandNames() {
		fmt.Fprintf(&b, "\t%s %s\n", name, usageArgs(name))
	}
	io.WriteString(sh.errw, b.String())
}

func commandNames() []string {
	names := make([]string, 0, len(commands)+len(specialCommands))
	for n := range commands {
		names = append(names, n)
	}
	for n := range specialCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usageArgs(name string) string {
	if c, ok := commands[name]; ok {
		return c.usage
	}
	switch name {
	case "connect":
		return "host:port"
	case "redo":
		return "cmdno"
	case "printwatches":
		return "on|off"
	}
	return ""
}

// connect closes the current session and opens one to host.
func (sh *shell) connect(host string) error {
	sh.closeConn(false)
	sh.host = host
	ctx, cancel := context.WithTimeout(context.Background(), max(sh.timeout, time.Second))
	defer cancel()
	// Retry until the timeout, as the Java client does (it retries forever),
	// and report the last failure that was not the deadline itself.
	var c *client.Conn
	var lastErr error
	for {
		var err error
		c, err = client.Dial(ctx, strings.Split(host, ","), sh.timeout,
			client.WithLogger(sh.logger), client.WithReadOnly(sh.readOnly), client.WithWatcher(sh.printEvent))
		if err == nil {
			break
		}
		if ctx.Err() == nil || lastErr == nil {
			lastErr = err
		}
		if ctx.Err() != nil {
			//lint:ignore ST1005 the text zkCli.sh prints
			return fmt.Errorf("Unable to connect to %s: %w", host, lastErr)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	sh.conn = c
	// The first event (SyncConnected) is printed before anything else.
	sh.waitEvents()
	return nil
}

// waitEvents waits until the events received so far are printed.
func (sh *shell) waitEvents() {
	if sh.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sh.conn.WaitEvents(ctx)
}

func (sh *shell) printEvent(ev client.Event) {
	if !sh.printWatches.Load() || sh.silent.Load() {
		return
	}
	fmt.Fprintf(sh.out, "\nWATCHER::\n\nWatchedEvent state:%s type:%s path:%s\n", client.StateName(ev.State), client.EventTypeName(ev.Type), eventPath(ev))
}

func eventPath(ev client.Event) string {
	if ev.Path == "" && ev.Type == proto.EventNone {
		return "null"
	}
	return ev.Path
}

// closeConn closes the session; with quiet, its last events are not printed.
func (sh *shell) closeConn(quiet bool) {
	if sh.conn == nil {
		return
	}
	if quiet {
		sh.silent.Store(true)
	}
	sh.conn.Close()
	sh.waitEvents()
	sh.silent.Store(false)
}

func (sh *shell) shutdown() { sh.closeConn(true) }

// ctx returns the context of one command: bounded by the session timeout.
func (sh *shell) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), max(sh.timeout, time.Second)+5*time.Second)
}

// prompt is ZooKeeperMain.getPrompt.
func (sh *shell) prompt() string {
	state := "NOT_CONNECTED"
	if sh.conn != nil {
		state = sh.conn.State().String()
	}
	return fmt.Sprintf("[zk: %s(%s) %d] ", sh.host, state, sh.commandCount)
}
