package natsurl_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/penguinmails/floe/libs/natsurl"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"nats://127.0.0.1:4222": "nats://127.0.0.1:4222",
		"nats://floe-release:s3cr3t@n1:4222,nats://floe-release:s3cr3t@n2:4222": "nats://floe-release:****@n1:4222,nats://floe-release:****@n2:4222",
		"tls://u:p%40ss@n1:4222": "tls://u:****@n1:4222",
		"u:s3cr3t@n1:4222":       "****",
		"n1:4222":                "n1:4222",
	} {
		got := natsurl.Redact(in)
		if got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "s3cr3t") || strings.Contains(got, "p%40ss") {
			t.Errorf("Redact(%q) leaks the password: %q", in, got)
		}
	}
}

// Whatever the input, a password (or token) a URL of it carries does not
// survive Redact.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"nats://a:secretpw@h:1", "a:secretpw@h", "nats://h:1,nats://b:secretpw@h2:2", "%zz:secretpw@x", "nats://secretpw@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := strings.Split(natsurl.Redact(s), ",")
		for i, part := range strings.Split(s, ",") {
			u, err := url.Parse(strings.TrimSpace(part))
			if err != nil || u.User == nil || u.Host == "" {
				continue
			}
			r, err := url.Parse(got[i])
			if err == nil && r.User != nil && r.User.String() == u.User.String() && !strings.Contains(u.User.String(), "*") {
				t.Errorf("Redact(%q) = %q keeps the credentials %q", s, got, u.User.String())
			}
		}
	})
}
