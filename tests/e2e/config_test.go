package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestBadConfigStopsStartup: an invalid zoo.cfg value stops gozk before it
// serves, with a message naming the key (and the line).
func TestBadConfigStopsStartup(t *testing.T) {
	if zktest.Kind() == zktest.KindZooKeeper {
		t.Skip("gozk's start-up checks")
	}
	bin := zktest.GozkBinary(t)
	for _, tc := range []struct{ cfg, key string }{
		{"tickTime=abc\n", "tickTime"},
		{"clientPort=99999\n", "clientPort"},
		{"minSessionTimeout=9000\nmaxSessionTimeout=4000\n", "SessionTimeout"},
		{"server.1=127.0.0.1:2888\n", "server.1"},
	} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "zoo.cfg")
		if err := os.WriteFile(cfg, []byte("dataDir="+dir+"\n"+tc.cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "server", "--config", cfg).CombinedOutput()
		if err == nil {
			t.Errorf("%q: gozk started", tc.cfg)
			continue
		}
		if !strings.Contains(string(out), tc.key) || !strings.Contains(string(out), "zoo.cfg") {
			t.Errorf("%q: message does not name the key %s and the file: %s", tc.cfg, tc.key, out)
		}
	}
}
