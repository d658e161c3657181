package email

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"

	"github.com/penguinmails/floe/libs/secrets"
)

// TestCredentialsNeedTLS: no mechanism sends credentials in the clear to a
// host that is not loopback, whatever the configuration let through.
func TestCredentialsNeedTLS(t *testing.T) {
	t.Parallel()
	pw := secrets.NewValueString("pw")
	tests := []struct {
		name     string
		server   smtp.ServerInfo
		loopback bool
		ok       bool
	}{
		{name: "TLS", server: smtp.ServerInfo{Name: "smtp.example.com", TLS: true}, ok: true},
		{name: "plaintext to loopback", server: smtp.ServerInfo{Name: "127.0.0.1"}, loopback: true, ok: true},
		{name: "plaintext to a remote host", server: smtp.ServerInfo{Name: "smtp.example.com"}},
		{name: "another host", server: smtp.ServerInfo{Name: "evil.example.com", TLS: true}},
	}
	for _, tt := range tests {
		host := "smtp.example.com"
		if tt.loopback {
			host = "127.0.0.1"
		}
		for _, a := range []smtp.Auth{
			&plainAuth{username: "u", password: pw, host: host, loopback: tt.loopback},
			&loginAuth{username: "u", password: pw, host: host, loopback: tt.loopback},
		} {
			mech, resp, err := a.Start(&tt.server)
			if tt.ok != (err == nil) {
				t.Errorf("%s, %s: %v", tt.name, mech, err)
			}
			if !tt.ok && resp != nil {
				t.Errorf("%s: %q sent", tt.name, resp)
			}
		}
	}
	mech, resp, _ := (&plainAuth{username: "u", password: pw, host: "h"}).Start(&smtp.ServerInfo{Name: "h", TLS: true})
	if mech != "PLAIN" || !bytes.Equal(resp, []byte("\x00u\x00pw")) {
		t.Errorf("PLAIN %s %q", mech, resp)
	}
	l := &loginAuth{username: "u", password: pw, host: "h"}
	if mech, resp, _ := l.Start(&smtp.ServerInfo{Name: "h", TLS: true}); mech != "LOGIN" || resp != nil {
		t.Errorf("LOGIN %s %q", mech, resp)
	}
	if r, _ := l.Next([]byte("Username:"), true); string(r) != "u" {
		t.Errorf("LOGIN username %q", r)
	}
	if r, _ := l.Next([]byte("Password:"), true); string(r) != "pw" {
		t.Errorf("LOGIN password %q", r)
	}
}

// TestRedact: a server reply that echoes the password, in any form the
// client sent it, loses it and keeps its code.
func TestRedact(t *testing.T) {
	t.Parallel()
	pw := secrets.NewValueString("hunter2-Secret")
	for _, echo := range []string{
		"hunter2-Secret",
		base64.StdEncoding.EncodeToString([]byte("hunter2-Secret")),
		base64.StdEncoding.EncodeToString([]byte("\x00user\x00hunter2-Secret")),
	} {
		err := redact(&textproto.Error{Code: 535, Msg: "bad credentials " + echo}, "user", pw)
		var reply *textproto.Error
		if !errors.As(err, &reply) || reply.Code != 535 || strings.Contains(err.Error(), echo) || !strings.Contains(err.Error(), secrets.Redacted) {
			t.Errorf("redact(%q) = %v", echo, err)
		}
	}
	plain := errors.New("no secret here")
	if redact(plain, "user", pw) != plain {
		t.Error("an error without the password was changed")
	}
}
