package config

import (
	"errors"
	"reflect"
	"testing"
)

// The expected results follow java.util.Properties.load (JDK 17/25
// Properties.LineReader and load0), which ZooKeeper uses to read zoo.cfg.
func TestReadProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []property
	}{
		{"empty", "", nil},
		{"only comments and blanks", "# a\n! b\n\n   \n\t# c\n", nil},
		{"equals", "a=b", []property{{"a", "b", 1}}},
		{"colon separator", "a:b", []property{{"a", "b", 1}}},
		{"space separator", "a b", []property{{"a", "b", 1}}},
		{"space and equals", "a  =  b  ", []property{{"a", "b  ", 1}}}, // trailing blanks stay in the value
		{"only the first separator counts", "a=b=c:d", []property{{"a", "b=c:d", 1}}},
		{"space then equals then equals", "a = =b", []property{{"a", "=b", 1}}},
		{"key alone", "flag", []property{{"flag", "", 1}}},
		{"key with empty value", "flag=", []property{{"flag", "", 1}}},
		{"leading blanks", "   \t a=b", []property{{"a", "b", 1}}},
		{"line numbers skip comments", "# c\n\na=1\n# d\nb=2\n", []property{{"a", "1", 3}, {"b", "2", 5}}},
		{"CRLF and CR line ends", "a=1\r\nb=2\rc=3\n", []property{{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}}},
		{"hash inside a value is not a comment", "a=b#c", []property{{"a", "b#c", 1}}},
		{"continuation", "a=b\\\n   c\nd=e", []property{{"a", "bc", 1}, {"d", "e", 3}}},
		{"continuation of a continuation", "a=1\\\n2\\\n3", []property{{"a", "123", 1}}},
		{"even backslashes do not continue", "a=b\\\\\nc=d", []property{{"a", "b\\", 1}, {"c", "d", 2}}},
		{"continued line starting with # is not a comment", "a=b\\\n#c", []property{{"a", "b#c", 1}}},
		{"comment lines never continue", "# x\\\na=b", []property{{"a", "b", 2}}},
		{"continuation into a blank line ends the value", "a=b\\\n\nc=d", []property{{"a", "b", 1}, {"c", "d", 3}}},
		{"backslash at end of file is dropped", "a=b\\", []property{{"a", "b", 1}}},
		{"escaped separator in key", "a\\=b=c", []property{{"a=b", "c", 1}}},
		{"escaped space in key", "a\\ b c", []property{{"a b", "c", 1}}},
		{"escapes", `a=\t\n\r\f\\\:\x`, []property{{"a", "\t\n\r\f\\:x", 1}}},
		{"unicode escape", `a=\u0041\u00e9`, []property{{"a", "Aé", 1}}},
		{"surrogate pair", `a=\uD83D\uDE00`, []property{{"a", "😀", 1}}},
		{"lone surrogate", `a=\uD83Dx`, []property{{"a", "\uFFFDx", 1}}},
		{"windows path loses its backslashes as in Java", `dataDir=C:\zk\data`, []property{{"dataDir", "C:zkdata", 1}}},
		{"UTF-8 passes through", "dataDir=/données", []property{{"dataDir", "/données", 1}}},
		{"duplicates are all returned", "a=1\na=2", []property{{"a", "1", 1}, {"a", "2", 2}}},
		{"form feed is blank", "\fa\f=\fb", []property{{"a", "b", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readProperties(tt.in)
			if err != nil {
				t.Fatalf("readProperties(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("readProperties(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestReadPropertiesMalformedUnicode(t *testing.T) {
	for _, in := range []string{`a=\u12`, `a=\u12G4`, "x=1\n\n" + `b\uZZZZ=1`} {
		_, err := readProperties(in)
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("readProperties(%q) = %v, want ErrSyntax", in, err)
		}
	}
	_, err := readProperties("x=1\n\n" + `b=\u00`)
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 3 {
		t.Errorf("error %v should point at line 3", err)
	}
}
