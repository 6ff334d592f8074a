package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSecrets(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string // a substring; "" = no error
	}{
		{name: "yaml", in: "acme/m@eco: tok-1\n'acme/m@team-sales': \"tok 2\"\n", want: map[string]string{"acme/m@eco": "tok-1", "acme/m@team-sales": "tok 2"}},
		{name: "json", in: `{"acme/m@eco": "tok-1", "acme/m@x": "tok-2"}`, want: map[string]string{"acme/m@eco": "tok-1", "acme/m@x": "tok-2"}},
		{name: "numbers are strings", in: "acme/m@eco: 12345\n", want: map[string]string{"acme/m@eco": "12345"}},
		{name: "empty file", in: "", want: map[string]string{}},
		{name: "null document", in: "~\n", want: map[string]string{}},
		{name: "comments only", in: "# nobody yet\n", want: map[string]string{}},
		{name: "a list", in: "- a\n- b\n", wantErr: "line 1: want a mapping"},
		{name: "nested value", in: "a@b: {x: y}\n", wantErr: `line 1: the secret of "a@b" must be a non-empty string`},
		{name: "empty value", in: "a@b: ''\n", wantErr: `line 1: the secret of "a@b" must be a non-empty string`},
		{name: "null value", in: "a@b:\n", wantErr: `line 1: the secret of "a@b" must be a non-empty string`},
		{name: "duplicate", in: "a@b: x\nc@d: y\na@b: z\n", wantErr: `line 3: repository "a@b" is listed twice`},
		{name: "two documents", in: "a@b: x\n---\nc@d: y\n", wantErr: "more than one YAML document"},
		{name: "syntax error", in: "a@b: x\n  bad: [secret-value\n", wantErr: "not a YAML or JSON document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSecrets([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				for _, secret := range []string{"secret-value", "tok", "z\n"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q shows the content %q", err, secret)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("secrets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	type values struct {
		Listen   string
		Services []string
		Timeout  time.Duration
		Token    string
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		only    []string
		want    values
		wantErr string
	}{
		{name: "defaults", want: values{Listen: "127.0.0.1:8080", Timeout: time.Second}},
		{name: "environment over default",
			env:  map[string]string{"DATASURFACE_LISTEN": ":9000", "DATASURFACE_SERVICE": "modelsvc, validator", "DATASURFACE_TIMEOUT": "5s"},
			want: values{Listen: ":9000", Services: []string{"modelsvc", "validator"}, Timeout: 5 * time.Second}},
		{name: "flag over environment", args: []string{"--listen", ":1", "--service", "validator"},
			env:  map[string]string{"DATASURFACE_LISTEN": ":9000", "DATASURFACE_SERVICE": "modelsvc"},
			want: values{Listen: ":1", Services: []string{"validator"}, Timeout: time.Second}},
		{name: "empty variable is unset", env: map[string]string{"DATASURFACE_LISTEN": ""}, want: values{Listen: "127.0.0.1:8080", Timeout: time.Second}},
		{name: "only the listed flags", only: []string{"token"},
			env:  map[string]string{"DATASURFACE_LISTEN": ":9000", "DATASURFACE_TOKEN": "t"},
			want: values{Listen: "127.0.0.1:8080", Timeout: time.Second, Token: "t"}},
		{name: "bad value", env: map[string]string{"DATASURFACE_TIMEOUT": "soon"}, wantErr: "DATASURFACE_TIMEOUT: parse error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got values
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&got.Listen, "listen", "127.0.0.1:8080", "")
			fs.Var((*listFlag)(&got.Services), "service", "")
			fs.DurationVar(&got.Timeout, "timeout", time.Second, "")
			fs.StringVar(&got.Token, "token", "", "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := applyEnv(fs, func(k string) string { return tt.env[k] }, tt.only...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	got := []string{envName("webhook-secrets-file"), envName("nats"), envName("log-level")}
	want := []string{"DATASURFACE_WEBHOOK_SECRETS_FILE", "DATASURFACE_NATS", "DATASURFACE_LOG_LEVEL"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRedactURL(t *testing.T) {
	got := []string{redactURL("nats://user:pw@host:4222"), redactURL("nats://host:4222"), redactURL("nats://token@host")}
	want := []string{"nats://user:xxxxx@host:4222", "nats://host:4222", "nats://xxxxx@host"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
