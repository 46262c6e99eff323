package zkensemble

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FourLetter sends a four-letter word to addr and returns everything the
// server answers before it closes the connection, giving up after timeout.
func FourLetter(addr, word string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", fmt.Errorf("four-letter word %s to %s: %w", word, addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, word); err != nil {
		return "", fmt.Errorf("four-letter word %s to %s: %w", word, addr, err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		return buf.String(), fmt.Errorf("four-letter word %s to %s: %w", word, addr, err)
	}
	return buf.String(), nil
}

// ParseMode returns the mode in a srvr or stat answer: the value of its
// "Mode:" line, ModeNotServing for a server without a leader, and "" when
// the answer says neither.
func ParseMode(out string) string {
	if strings.Contains(out, NotServing) {
		return ModeNotServing
	}
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, "Mode:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// ParseMntr returns the key/value pairs of a mntr answer.
func ParseMntr(out string) map[string]string {
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "\t")
		if ok {
			kv[k] = v
		}
	}
	return kv
}

// Srvr returns member i's answer to srvr.
func (e *Ensemble) Srvr(i int) (string, error) {
	return FourLetter(e.Member(i).Addr, "srvr", flwTimeout)
}

// Mntr returns member i's answer to mntr as key/value pairs.
func (e *Ensemble) Mntr(i int) (map[string]string, error) {
	out, err := FourLetter(e.Member(i).Addr, "mntr", flwTimeout)
	if err != nil {
		return nil, err
	}
	return ParseMntr(out), nil
}

// Mode returns member i's mode: ModeLeader, ModeFollower or ModeObserver from
// srvr, ModeNotServing when it has no leader, ModeStopped when it is paused,
// ModeDown when it is not running or does not answer.
func (e *Ensemble) Mode(i int) string {
	m := e.Member(i)
	switch {
	case !m.Running():
		return ModeDown
	case m.Stopped():
		return ModeStopped
	}
	return e.probe(i, flwTimeout)
}

// probe asks member i for its mode with srvr, whatever the harness knows of it.
func (e *Ensemble) probe(i int, timeout time.Duration) string {
	out, err := FourLetter(e.Members[i].Addr, "srvr", timeout)
	if err != nil {
		return ModeDown
	}
	if mode := ParseMode(out); mode != "" {
		return mode
	}
	return ModeNotServing
}

// Modes returns the mode of every member (see Mode), asked in parallel.
func (e *Ensemble) Modes() []string {
	modes := make([]string, len(e.Members))
	var wg sync.WaitGroup
	for i := range e.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			modes[i] = e.Mode(i)
		}()
	}
	wg.Wait()
	return modes
}

// waitServing waits until member i reports a mode other than not serving,
// failing early when its process exits.
func (e *Ensemble) waitServing(i int, timeout time.Duration) error {
	m := e.Members[i]
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		m.mu.Lock()
		done := m.done
		m.mu.Unlock()
		if done == nil {
			return fmt.Errorf("member %d: %w", m.ID, errExited)
		}
		select {
		case <-done:
			return fmt.Errorf("member %d: %w before serving", m.ID, errExited)
		default:
		}
		if !m.Stopped() {
			last = e.probe(i, flwTimeout)
			switch last {
			case ModeLeader, ModeFollower, ModeObserver:
				return nil
			case "standalone":
				return fmt.Errorf("member %d (%s) runs standalone, ignoring the server list", m.ID, m.Addr)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("member %d (%s) not serving after %v (last mode %q)", m.ID, m.Addr, timeout, last)
		}
		select {
		case <-done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitServing waits (at most ServeTimeout) until member i serves clients.
func (e *Ensemble) WaitServing(i int) {
	e.t.Helper()
	if err := e.waitServing(i, ServeTimeout); err != nil {
		e.t.Fatalf("zkensemble: %v (modes %v)", err, e.Modes())
	}
}

// WaitAllServing waits until every running member serves.
func (e *Ensemble) WaitAllServing() {
	e.t.Helper()
	for _, i := range e.Running() {
		e.WaitServing(i)
	}
}

// Leader waits (at most LeaderTimeout) until exactly one running, unpaused
// member reports Mode: leader, and returns its index.
func (e *Ensemble) Leader() int {
	e.t.Helper()
	l, err := e.WaitLeader(LeaderTimeout)
	if err != nil {
		e.t.Fatalf("zkensemble: %v", err)
	}
	return l
}

// WaitLeader is Leader with a chosen bound, returning an error instead of
// failing the test. Members listed in exclude are not asked.
func (e *Ensemble) WaitLeader(timeout time.Duration, exclude ...int) (int, error) {
	deadline := time.Now().Add(timeout)
	var modes []string
	for {
		modes = e.Modes()
		leader, leaders := -1, 0
		for i, mode := range modes {
			if mode == ModeLeader && !slices.Contains(exclude, i) {
				leader = i
				leaders++
			}
		}
		if leaders == 1 {
			return leader, nil
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("no single leader within %v: modes %v", timeout, modes)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PollLeader asks the given members for their mode in parallel, every
// interval, until one of them reports leader; it returns that member and the
// time the answer arrived. It gives up after timeout.
func (e *Ensemble) PollLeader(members []int, interval, timeout time.Duration) (int, time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		type answer struct {
			i    int
			mode string
			at   time.Time
		}
		answers := make(chan answer, len(members))
		for _, i := range members {
			go func() {
				mode := e.probe(i, interval+500*time.Millisecond)
				answers <- answer{i, mode, time.Now()}
			}()
		}
		best := answer{i: -1}
		for range members {
			a := <-answers
			if a.mode == ModeLeader && (best.i < 0 || a.at.Before(best.at)) {
				best = a
			}
		}
		if best.i >= 0 {
			return best.i, best.at, nil
		}
		if time.Now().After(deadline) {
			return -1, time.Time{}, fmt.Errorf("no leader among members %v within %v", members, timeout)
		}
		time.Sleep(interval)
	}
}
