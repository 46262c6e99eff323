package zkensemble

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// Pid returns the process id of the member's current process, 0 when it is
// not running.
func (m *Member) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	select {
	case <-m.done:
		return 0
	default:
		return m.cmd.Process.Pid
	}
}

// Running reports whether the member's process is alive (stopped or not).
func (m *Member) Running() bool { return m.Pid() != 0 }

// Stopped reports whether the member is paused with SIGSTOP.
func (m *Member) Stopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopped
}

// kill sends SIGKILL and waits for the process to exit.
func (m *Member) kill() {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.cmd, m.stopped = nil, false
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// dumpStacks makes a live member print every goroutine's stack to its log
// and exit (Go's SIGQUIT), waiting up to 3 s before killing it.
func (m *Member) dumpStacks() {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT) // a paused member cannot dump
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
}

// Log returns everything the member's processes wrote to stdout and stderr.
func (m *Member) Log() string {
	b, err := os.ReadFile(m.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// LogTail returns at most the last n bytes of the member's log.
func (m *Member) LogTail(n int) string {
	l := m.Log()
	if len(l) > n {
		l = "...\n" + l[len(l)-n:]
	}
	return l
}

// Kill kills member i with SIGKILL and waits for it to exit; a no-op when it
// is not running.
func (e *Ensemble) Kill(i int) {
	e.t.Helper()
	e.Member(i).kill()
}

// Stop pauses member i with SIGSTOP: its sockets stay open but it answers
// nothing, as behind a network partition. It returns once every thread of
// the process has stopped: a signal is delivered to each thread
// asynchronously, and a thread still running could answer a peer.
func (e *Ensemble) Stop(i int) {
	e.t.Helper()
	e.signal(i, syscall.SIGSTOP, true)
	pid := e.Member(i).Pid()
	deadline := time.Now().Add(5 * time.Second)
	for !allThreadsStopped(pid) {
		if time.Now().After(deadline) {
			e.t.Fatalf("zkensemble: member %d (pid %d) not stopped 5s after SIGSTOP", i+1, pid)
		}
		time.Sleep(time.Millisecond)
	}
}

// Cont resumes member i with SIGCONT.
func (e *Ensemble) Cont(i int) {
	e.t.Helper()
	e.signal(i, syscall.SIGCONT, false)
}

func (e *Ensemble) signal(i int, sig syscall.Signal, stopped bool) {
	e.t.Helper()
	m := e.Member(i)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		e.t.Fatalf("zkensemble: %v to member %d, which is not running", sig, m.ID)
	}
	if err := m.cmd.Process.Signal(sig); err != nil {
		e.t.Fatalf("zkensemble: %v to member %d: %v", sig, m.ID, err)
	}
	m.stopped = stopped
}

// Restart kills member i if it runs and starts it again with the same
// configuration and data. It does not wait for the member to serve: a member
// serves only once it has a leader (see WaitServing).
func (e *Ensemble) Restart(i int) {
	e.t.Helper()
	m := e.Member(i)
	m.kill()
	if err := e.launch(i); err != nil {
		e.t.Fatalf("zkensemble: %v", err)
	}
}

// Wipe empties member i's data directory, keeping only myid. The member must
// not be running.
func (e *Ensemble) Wipe(i int) {
	e.t.Helper()
	m := e.Member(i)
	if m.Running() {
		e.t.Fatalf("zkensemble: wipe of member %d, which is running", m.ID)
	}
	if err := os.RemoveAll(m.DataDir); err != nil {
		e.t.Fatalf("zkensemble: wipe: %v", err)
	}
	if err := os.MkdirAll(m.DataDir, 0o755); err != nil {
		e.t.Fatalf("zkensemble: wipe: %v", err)
	}
	if err := m.writeMyID(); err != nil {
		e.t.Fatalf("zkensemble: wipe: %v", err)
	}
}

// DumpStacks makes every live member print its goroutines' stacks to its log
// and exit: for the logs of a failed test.
func (e *Ensemble) DumpStacks() {
	for _, m := range e.Members {
		m.dumpStacks()
	}
}
