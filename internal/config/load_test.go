package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	const ensemble = "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.2:2888:3888\nserver.3=127.0.0.3:2888:3888;2182\n"
	tests := []struct {
		name   string
		cfg    string // %DIR% is replaced by the data directory
		myid   *string
		err    error
		msg    string // %CFG% and %DIR% are replaced
		myidIs uint64
	}{
		{name: "standalone", cfg: "dataDir=%DIR%\nclientPort=2181\n"},
		{name: "standalone ignores a bad myid", cfg: "dataDir=%DIR%\n", myid: ptr("junk")},
		{name: "ensemble", cfg: "dataDir=%DIR%\n" + ensemble, myid: ptr("3\n"), myidIs: 3},
		{name: "myid with blanks", cfg: "dataDir=%DIR%\n" + ensemble, myid: ptr(" 2 \r\n"), myidIs: 2},
		{name: "myid first line only", cfg: "dataDir=%DIR%\n" + ensemble, myid: ptr("1\nrest\n"), myidIs: 1},
		{name: "single server line with myid", cfg: "dataDir=%DIR%\nserver.1=a:1:2\n", myid: ptr("1"), myidIs: 1},
		{name: "single server line without myid", cfg: "dataDir=%DIR%\nserver.1=a:1:2\n"},
		{name: "myid missing", cfg: "dataDir=%DIR%\n" + ensemble, err: ErrMyID,
			msg: "config: %CFG%: myid: myid file is missing (an ensemble needs dataDir/myid)"},
		{name: "myid not a number", cfg: "dataDir=%DIR%\n" + ensemble, myid: ptr("one\n"), err: ErrMyID,
			msg: `config: %DIR%/myid: myid: serverid "one" is not a number`},
		{name: "myid empty", cfg: "dataDir=%DIR%\n" + ensemble, myid: ptr(""), err: ErrMyID,
			msg: `config: %DIR%/myid: myid: serverid "" is not a number`},
		{name: "myid zero", cfg: "dataDir=%DIR%\n" + ensemble, myid: ptr("0"), err: ErrMyID,
			msg: `config: %DIR%/myid: myid: serverid 0 is out of range 1-255`},
		{name: "myid not listed", cfg: "dataDir=%DIR%\n" + ensemble, myid: ptr("7"), err: ErrMyID,
			msg: "config: %CFG%: myid: my id 7 is not in the server list"},
		{name: "a bad myid is reported even for a single server line", cfg: "dataDir=%DIR%\nserver.1=a:1:2\n", myid: ptr("x"), err: ErrMyID,
			msg: `config: %DIR%/myid: myid: serverid "x" is not a number`},
		{name: "value error names file and line", cfg: "# comment\ndataDir=%DIR%\ntickTime=abc\n", err: ErrInvalidValue,
			msg: `config: %CFG%:3: tickTime: "abc" is not a number`},
		{name: "dataDir not set", cfg: "tickTime=2000\n", err: ErrMissing, msg: "config: %CFG%: dataDir: is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dataDir := filepath.Join(root, "data")
			cfgPath := filepath.Join(root, "zoo.cfg")
			writeFile(t, cfgPath, strings.ReplaceAll(tt.cfg, "%DIR%", dataDir))
			if tt.myid != nil {
				writeFile(t, filepath.Join(dataDir, "myid"), *tt.myid)
			}
			c, err := Load(cfgPath)
			if tt.err != nil {
				msg := strings.NewReplacer("%CFG%", cfgPath, "%DIR%", dataDir).Replace(tt.msg)
				if !errors.Is(err, tt.err) || err.Error() != msg {
					t.Fatalf("Load error\n got %v\nwant %s (%v)", err, msg, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.DataDir != dataDir || c.MyID != tt.myidIs {
				t.Errorf("DataDir %q MyID %d, want %q %d", c.DataDir, c.MyID, dataDir, tt.myidIs)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.cfg"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.cfg") {
		t.Errorf("Load(missing) = %v", err)
	}
}

// A relative dataDir is relative to the working directory, not to the
// config file (ZooKeeper: new File(dataDir, "myid")).
func TestLoadRelativeDataDir(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	cfgDir := t.TempDir()
	cfgPath := filepath.Join(cfgDir, "zoo.cfg")
	writeFile(t, cfgPath, "dataDir=rel/data\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n")
	writeFile(t, filepath.Join(wd, "rel", "data", "myid"), "2\n")
	writeFile(t, filepath.Join(cfgDir, "rel", "data", "myid"), "1\n") // must not be read
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if c.MyID != 2 || c.DataDir != "rel/data" {
		t.Errorf("MyID %d DataDir %q, want 2 rel/data", c.MyID, c.DataDir)
	}
}

func TestParseMyID(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"1", 1, true}, {"1\n", 1, true}, {"255", 255, true}, {"+3", 3, true}, {"007", 7, true},
		{"", 0, false}, {"256", 0, false}, {"0", 0, false}, {"-1", 0, false}, {"1 2", 0, false}, {"0x1", 0, false},
		{"\n1", 0, false}, // ZooKeeper reads only the first line
	}
	for _, tt := range tests {
		got, err := ParseMyID([]byte(tt.in))
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseMyID(%q) = %d, %v", tt.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrMyID) {
			t.Errorf("ParseMyID(%q) error %v is not ErrMyID", tt.in, err)
		}
	}
}
