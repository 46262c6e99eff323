package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chzyer/readline"
)

// historyFile is the readline history, in the home directory.
const historyFile = ".gozk_history"

// terminalInput returns stdin as a file if it is a terminal.
func terminalInput(stdin io.Reader) (*os.File, bool) {
	f, ok := stdin.(*os.File)
	if !ok || !readline.IsTerminal(int(f.Fd())) {
		return nil, false
	}
	return f, true
}

// plainLoop reads commands line by line, without a prompt, as zkCli does
// when JLine is not available.
func (sh *shell) plainLoop() {
	sc := bufio.NewScanner(sh.stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for !sh.quit && sc.Scan() {
		sh.executeLine(strings.TrimRight(sc.Text(), "\r"))
	}
}

// readlineLoop is the interactive shell: prompt, line editing, history and
// completion of commands and znode paths.
func (sh *shell) readlineLoop(in *os.File, stdout, stderr io.Writer) {
	cfg := &readline.Config{
		Prompt:            sh.prompt(),
		AutoComplete:      &completer{sh: sh},
		InterruptPrompt:   "^C",
		EOFPrompt:         "",
		HistorySearchFold: true,
		Stdin:             in,
		Stdout:            stdout,
		Stderr:            stderr,
	}
	if home, err := os.UserHomeDir(); err == nil {
		cfg.HistoryFile = filepath.Join(home, historyFile)
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		sh.plainLoop()
		return
	}
	defer rl.Close()
	// Output goes through readline so that events printed while a line is
	// being edited do not garble the prompt.
	sh.out = lockedWriter{sh.outMu, rl.Stdout()}
	sh.errw = lockedWriter{sh.outMu, rl.Stderr()}
	for !sh.quit {
		rl.SetPrompt(sh.prompt())
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err != nil {
			return
		}
		sh.executeLine(line)
	}
}

// completer completes command names and znode paths.
type completer struct {
	sh *shell
	mu sync.Mutex
}

// Do implements readline.AutoCompleter: it returns the possible endings of
// the word before pos and the length of that word's completed part.
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	text := string(line[:pos])
	start := strings.LastIndexAny(text, " \t") + 1
	word := text[start:]
	var candidates []string
	prefix := word
	switch {
	case start == 0 || strings.TrimSpace(text[:start]) == "":
		candidates = commandNames()
		candidates = append(candidates, "help")
	case strings.HasPrefix(word, "/"):
		dir := word[:strings.LastIndexByte(word, '/')]
		prefix = word[len(dir)+1:]
		parent := dir
		if parent == "" {
			parent = "/"
		}
		candidates = c.children(parent)
	default:
		return nil, 0
	}
	sort.Strings(candidates)
	var out [][]rune
	for _, cand := range candidates {
		if strings.HasPrefix(cand, prefix) {
			out = append(out, []rune(cand[len(prefix):]))
		}
	}
	return out, len([]rune(prefix))
}

func (c *completer) children(path string) []string {
	conn := c.sh.conn
	if conn == nil || !conn.State().Alive() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ch, err := conn.Children(ctx, path, false)
	if err != nil {
		return nil
	}
	return ch
}
