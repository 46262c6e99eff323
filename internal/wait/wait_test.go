package wait

import (
	"sync"
	"testing"
)

func TestRegistryDeliversOnceToTheRightWaiter(t *testing.T) {
	var r Registry[string]
	a, b := r.Register(1), r.Register(2)
	if !r.Trigger(2, "two") || !r.Trigger(1, "one") {
		t.Fatal("trigger of a registered id reported no waiter")
	}
	if got := <-a; got != "one" {
		t.Fatalf("waiter 1 got %q", got)
	}
	if got := <-b; got != "two" {
		t.Fatalf("waiter 2 got %q", got)
	}
	if r.Trigger(1, "again") {
		t.Fatal("an id was triggered twice")
	}
	r.Register(3)
	r.Cancel(3)
	if r.Trigger(3, "late") || r.Len() != 0 {
		t.Fatalf("a cancelled id was triggered (len %d)", r.Len())
	}
}

func TestIndexReleasesWaitersInOrder(t *testing.T) {
	var x Index
	w5, w3, w9 := x.Wait(5), x.Wait(3), x.Wait(9)
	x.Advance(4)
	select {
	case <-w3:
	default:
		t.Fatal("waiter for 3 not released at 4")
	}
	select {
	case <-w5:
		t.Fatal("waiter for 5 released at 4")
	default:
	}
	x.Advance(2) // never back
	if x.Value() != 4 {
		t.Fatalf("index went back to %d", x.Value())
	}
	x.Advance(9)
	<-w5
	<-w9
	select {
	case <-x.Wait(1):
	default:
		t.Fatal("a wait below the index is not released at once")
	}
}

func TestIndexConcurrent(t *testing.T) {
	var x Index
	var wg sync.WaitGroup
	for i := uint64(1); i <= 100; i++ {
		wg.Add(1)
		go func(at uint64) {
			defer wg.Done()
			<-x.Wait(at)
		}(i)
	}
	for i := uint64(1); i <= 100; i++ {
		x.Advance(i)
	}
	wg.Wait()
}
