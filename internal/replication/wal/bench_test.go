package wal

import (
	"fmt"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// BenchmarkSave measures Save of batches of 100-byte entries, with an fsync per
// batch and without (NoSync). SetBytes counts entry data only.
func BenchmarkSave(b *testing.B) {
	for _, sync := range []bool{true, false} {
		for _, n := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("sync=%v/batch=%d", sync, n), func(b *testing.B) {
				w := mustCreate(b, b.TempDir(), nil, Options{NoSync: !sync})
				defer w.Close()
				ents := mkEnts(1, uint64(n), 1, 100)
				hs := raftpb.HardState{Term: 1, Vote: 1}
				next := uint64(1)
				b.SetBytes(int64(100 * n))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					for i := range ents {
						ents[i].Index = next
						next++
					}
					hs.Commit = next - 1
					if err := w.Save(hs, ents); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}
