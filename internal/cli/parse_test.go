package cli

import (
	"reflect"
	"testing"
)

func TestSplitLine(t *testing.T) {
	cases := []struct {
		line string
		want []string
	}{
		{"ls /", []string{"ls", "/"}},
		{"  ls   -s\t/a  ", []string{"ls", "-s", "/a"}},
		{`create /a "hello world"`, []string{"create", "/a", "hello world"}},
		{`create /a 'single quoted'`, []string{"create", "/a", "single quoted"}},
		{`create /a ""`, []string{"create", "/a", ""}},
		{`set /a x"y z"`, []string{"set", "/a", `x"y`, `z"`}},
		{`create /a "unclosed value`, []string{"create", "/a", "unclosed", "value"}},
		{`get 'a'b`, []string{"get", "a", "b"}},
		{"", nil},
		{"   ", nil},
	}
	for _, tc := range cases {
		if got := splitLine(tc.line); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitLine(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestParseOptions(t *testing.T) {
	createSpec := optSpec{"e": false, "s": false, "c": false, "t": true}
	setSpec := optSpec{"s": false, "v": true}
	cases := []struct {
		name string
		spec optSpec
		args []string
		want *parsed
		err  string
	}{
		{"plain", createSpec, []string{"create", "/a", "d"},
			&parsed{args: []string{"create", "/a", "d"}, opts: map[string]string{}}, ""},
		{"flags", createSpec, []string{"create", "-e", "-s", "/a"},
			&parsed{args: []string{"create", "/a"}, opts: map[string]string{"e": "", "s": ""}}, ""},
		{"grouped", createSpec, []string{"create", "-es", "/a"},
			&parsed{args: []string{"create", "/a"}, opts: map[string]string{"e": "", "s": ""}}, ""},
		{"value after", createSpec, []string{"create", "-t", "500", "/a"},
			&parsed{args: []string{"create", "/a"}, opts: map[string]string{"t": "500"}}, ""},
		{"value attached", createSpec, []string{"create", "-t500", "/a"},
			&parsed{args: []string{"create", "/a"}, opts: map[string]string{"t": "500"}}, ""},
		{"value with equals", createSpec, []string{"create", "-t=500", "/a"},
			&parsed{args: []string{"create", "/a"}, opts: map[string]string{"t": "500"}}, ""},
		{"group ending with value", createSpec, []string{"create", "-st500", "/a"},
			&parsed{args: []string{"create", "/a"}, opts: map[string]string{"s": "", "t": "500"}}, ""},
		{"options after arguments", optSpec{"b": true}, []string{"deleteall", "/a", "-b", "5"},
			&parsed{args: []string{"deleteall", "/a"}, opts: map[string]string{"b": "5"}}, ""},
		{"negative value", setSpec, []string{"set", "-v", "-1", "/a", "x"},
			&parsed{args: []string{"set", "/a", "x"}, opts: map[string]string{"v": "-1"}}, ""},
		{"unknown dash token as value", setSpec, []string{"set", "-v", "-x", "/a", "x"},
			&parsed{args: []string{"set", "/a", "x"}, opts: map[string]string{"v": "-x"}}, ""},
		{"quoted value", setSpec, []string{"set", "-v", `"3"`, "/a", "x"},
			&parsed{args: []string{"set", "/a", "x"}, opts: map[string]string{"v": "3"}}, ""},
		{"first value wins", setSpec, []string{"set", "-v", "1", "-v", "2", "/a", "x"},
			&parsed{args: []string{"set", "/a", "x"}, opts: map[string]string{"v": "1"}}, ""},
		{"double dash", setSpec, []string{"set", "--", "-s", "x"},
			&parsed{args: []string{"set", "-s", "x"}, opts: map[string]string{}}, ""},
		{"single dash is an argument", setSpec, []string{"set", "/a", "-"},
			&parsed{args: []string{"set", "/a", "-"}, opts: map[string]string{}}, ""},
		{"unrecognized", createSpec, []string{"create", "-x", "/a"}, nil,
			"org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"},
		{"unrecognized in group", createSpec, []string{"create", "-ex", "/a"}, nil,
			"org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -ex"},
		{"negative number argument", createSpec, []string{"create", "/a", "-1"}, nil,
			"org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -1"},
		{"long option", createSpec, []string{"create", "--ephemeral", "/a"}, nil,
			"org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: --ephemeral"},
		{"missing value at end", setSpec, []string{"set", "/a", "x", "-v"}, nil,
			"org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
		{"option instead of value", setSpec, []string{"set", "-v", "-s", "/a", "x"}, nil,
			"org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
		{"double dash before value", setSpec, []string{"set", "-v", "--", "/a"}, nil,
			"org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
		{"no options known", nil, []string{"close", "-x"}, nil,
			"org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"},
	}
	for _, tc := range cases {
		got, err := parseOptions(tc.spec, tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	cases := []struct {
		args []string
		want options
		err  string
	}{
		{nil, options{server: "localhost:2181", timeout: "30000"}, ""},
		{[]string{"-server", "h:1,h:2", "-timeout", "5000"}, options{server: "h:1,h:2", timeout: "5000"}, ""},
		{[]string{"-r", "-waitforconnection", "ls", "-s", "/"},
			options{server: "localhost:2181", timeout: "30000", readOnly: true, command: []string{"ls", "-s", "/"}}, ""},
		{[]string{"-unknown", "-client-configuration", "f", "get", "/a"},
			options{server: "localhost:2181", timeout: "30000", command: []string{"get", "/a"}}, ""},
		{[]string{"-server"}, options{}, "Error: no argument found for option -server"},
	}
	for _, tc := range cases {
		got, err := parseFlags(tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: err %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %+v (%v), want %+v", tc.args, got, err, tc.want)
		}
	}
}
