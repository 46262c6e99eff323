package session

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Keeper carries out the session duties that fall to whoever expires
// sessions (the standalone server, or the ensemble's leader), and elsewhere
// passes client activity on to it: on the leader it tracks every session in a
// Tracker, answers resumes, and proposes the expiry of overdue sessions; on
// the other members it collects the sessions heard from and reports them to
// the leader several times a tick.
type Keeper struct {
	tick    time.Duration
	tracker *Tracker
	leader  atomic.Bool
	// leadMu makes a change of leadership (term, tracker reset) atomic with
	// the expiry loop's decision (term, overdue sessions), so that an expiry
	// is fenced to the term whose tracker decided it.
	leadMu sync.Mutex
	term   uint64 // the term this Keeper leads in; guarded by leadMu
	deps   atomic.Pointer[KeeperDeps]
	log    *slog.Logger

	touchedMu sync.Mutex
	touched   map[int64]struct{}
}

// KeeperDeps is what a Keeper needs of the rest of the server, known once the
// log has started.
type KeeperDeps struct {
	// Expire proposes closing an overdue session, fenced to the term of the
	// leader that decided it (see fsm.Entry.Term).
	Expire func(id int64, term uint64) error
	// Report tells the leader of activity on these sessions here.
	Report func(ids []int64)
	// CatchUp returns once this server has applied everything committed
	// before the call.
	CatchUp func(ctx context.Context) error
	// Exists tells whether the applied state has the session.
	Exists func(id int64) bool
}

// NewKeeper returns a Keeper for the given tick (tickTime).
func NewKeeper(tick time.Duration, log *slog.Logger) *Keeper {
	return &Keeper{tick: tick, tracker: NewTracker(tick), log: log, touched: make(map[int64]struct{})}
}

// Attach supplies the Keeper's dependencies.
func (k *Keeper) Attach(d KeeperDeps) { k.deps.Store(&d) }

// IsLeader reports whether this Keeper expires sessions.
func (k *Keeper) IsLeader() bool { return k.leader.Load() }

// SetLeader makes this Keeper the one that expires sessions, as the leader of
// term (each session given a full timeout from now, as a new ZooKeeper leader
// does), or not. each enumerates the known sessions and their timeouts.
func (k *Keeper) SetLeader(leader bool, term uint64, each func(fn func(id int64, timeout time.Duration))) {
	k.leadMu.Lock()
	defer k.leadMu.Unlock()
	k.term = term
	k.leader.Store(leader)
	k.reload(each)
}

// Reload forgets what the Keeper tracks and, on the leader, tracks every
// session each enumerates afresh, with a full timeout from now (the state was
// replaced by a snapshot).
func (k *Keeper) Reload(each func(fn func(id int64, timeout time.Duration))) {
	k.leadMu.Lock()
	defer k.leadMu.Unlock()
	k.reload(each)
}

func (k *Keeper) reload(each func(fn func(id int64, timeout time.Duration))) {
	leader := k.leader.Load()
	k.tracker.Reset()
	if leader {
		now := time.Now()
		each(func(id int64, timeout time.Duration) { k.tracker.Add(id, timeout, now) })
	}
}

// Opened records a new session (its creation was applied).
func (k *Keeper) Opened(id int64, timeout time.Duration) {
	if k.leader.Load() {
		k.tracker.Add(id, timeout, time.Now())
	}
}

// TimeoutChanged records a resumed session's new timeout (applied).
func (k *Keeper) TimeoutChanged(id int64, timeout time.Duration) {
	if k.leader.Load() {
		k.tracker.SetTimeout(id, timeout)
	}
}

// Closed forgets a session (its close was applied).
func (k *Keeper) Closed(id int64) { k.tracker.Remove(id) }

// Touch records client activity on a session at this server.
func (k *Keeper) Touch(id int64, now time.Time) {
	if id == 0 {
		return
	}
	if k.leader.Load() {
		k.tracker.Touch(id, now)
		return
	}
	k.touchedMu.Lock()
	k.touched[id] = struct{}{}
	k.touchedMu.Unlock()
}

// Touched records activity another member reported.
func (k *Keeper) Touched(ids []int64) {
	if !k.leader.Load() {
		return
	}
	now := time.Now()
	for _, id := range ids {
		k.tracker.Touch(id, now)
	}
}

// ErrNotLeader: this Keeper does not decide on sessions (now).
var ErrNotLeader = fmt.Errorf("session: not the leader")

// Revalidate decides, on the leader, whether a client may resume session id:
// it must be tracked and before its deadline. It is touched and keeps timeout
// from now on (ZooKeeper's touchSession with the connection's timeout).
//
// A yes is given only once this server is confirmed to lead after the touch
// (a read index, which a quorum acknowledges in the leader's term): a leader
// that was deposed without knowing it yet would otherwise answer from a
// tracker nobody else sees, and the real leader could expire the session
// within its timeout of the resume. Confirmed, any later leader starts after
// the touch and gives the session a full timeout from its election.
func (k *Keeper) Revalidate(id int64, timeout time.Duration) (bool, error) {
	d := k.deps.Load()
	if d == nil {
		return false, ErrNotLeader
	}
	k.leadMu.Lock()
	leader, term := k.leader.Load(), k.term
	k.leadMu.Unlock()
	if !leader {
		return false, ErrNotLeader
	}
	switch k.tracker.Resume(id, timeout, time.Now()) {
	case Live:
		return k.confirm(d, id, term)
	case Expired:
		return false, nil
	}
	// Not tracked: either closed, or created by an entry this server has
	// not applied yet (the tracker learns of a session once its creation is
	// applied). Catching up also confirms the leadership.
	if !d.Exists(id) {
		if _, err := k.confirm(d, id, term); err != nil {
			return false, err
		}
		if !d.Exists(id) {
			return false, nil
		}
		k.tracker.Add(id, timeout, time.Now())
		return true, nil
	}
	k.tracker.Add(id, timeout, time.Now())
	return k.confirm(d, id, term)
}

// confirm returns once this server has applied everything committed before
// the call, and a quorum has confirmed that it still leads in term: a read
// index succeeds on a deposed leader too (raft forwards it to the new one),
// but by the time it does, this server has learnt of the new leader.
func (k *Keeper) confirm(d *KeeperDeps, id int64, term uint64) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), k.tick)
	defer cancel()
	if err := d.CatchUp(ctx); err != nil {
		return false, fmt.Errorf("confirming the leadership to decide on session 0x%x: %w", id, err)
	}
	k.leadMu.Lock()
	defer k.leadMu.Unlock()
	if !k.leader.Load() || k.term != term {
		return false, ErrNotLeader
	}
	return true, nil
}

// Run expires sessions on the leader and reports activity elsewhere until
// stop is closed. Session deadlines fall on multiples of the tick, and Run
// wakes on multiples of a quarter tick, so a session expires within a quarter
// tick of its deadline, and the leader hears of activity elsewhere well before
// a deadline.
func (k *Keeper) Run(stop <-chan struct{}) {
	q := max(k.tick/4, time.Millisecond)
	t := time.NewTimer(untilMultiple(time.Now(), q))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := time.Now()
		t.Reset(untilMultiple(now, q))
		d := k.deps.Load()
		if d == nil {
			continue
		}
		if !k.leader.Load() {
			k.report(d)
			continue
		}
		k.leadMu.Lock()
		term, expired := k.term, k.tracker.Expired(now)
		k.leadMu.Unlock()
		for _, id := range expired {
			k.log.Info("session expired", "session", fmt.Sprintf("0x%x", id))
			if err := d.Expire(id, term); err != nil {
				k.log.Warn("cannot propose session expiry", "session", fmt.Sprintf("0x%x", id), "err", err)
			}
		}
	}
}

func (k *Keeper) report(d *KeeperDeps) {
	k.touchedMu.Lock()
	if len(k.touched) == 0 {
		k.touchedMu.Unlock()
		return
	}
	ids := make([]int64, 0, len(k.touched))
	for id := range k.touched {
		ids = append(ids, id)
	}
	clear(k.touched)
	k.touchedMu.Unlock()
	d.Report(ids)
}

// untilMultiple is the time from now to the next multiple of q since the Unix
// epoch.
func untilMultiple(now time.Time, q time.Duration) time.Duration {
	ns := now.UnixNano()
	return time.Duration((ns/int64(q)+1)*int64(q) - ns)
}
