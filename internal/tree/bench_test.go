package tree

import (
	"fmt"
	"testing"
)

// BenchmarkAdd is the cost of inserting a node under a parent with many
// children (the tree's path index and the parent's child set).
func BenchmarkAdd(b *testing.B) {
	t := New(false)
	t.Add("/p", &Node{})
	paths := make([]string, b.N)
	for i := range paths {
		paths[i] = fmt.Sprintf("/p/n%09d", i)
	}
	data := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.Add(paths[i], &Node{Data: data})
	}
}

// BenchmarkGet is a lookup by path in a tree of 100,000 nodes.
func BenchmarkGet(b *testing.B) {
	t := New(false)
	t.Add("/p", &Node{})
	paths := make([]string, 100_000)
	for i := range paths {
		paths[i] = fmt.Sprintf("/p/n%09d", i)
		t.Add(paths[i], &Node{})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if t.Get(paths[i%len(paths)]) == nil {
			b.Fatal("missing")
		}
	}
}
