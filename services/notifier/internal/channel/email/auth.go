package email

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/smtp"
	"net/textproto"
	"strings"

	"github.com/penguinmails/floe/libs/secrets"
)

// plainAuth is AUTH PLAIN (RFC 4616) with an empty authorization identity.
// net/smtp has one, but it allows plaintext only to "localhost", 127.0.0.1
// and ::1 by name; this one applies the channel's own rule and reads the
// password from a secrets.Value.
type plainAuth struct {
	username string
	password secrets.Value
	host     string
	loopback bool
}

func (a *plainAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if err := mayAuthenticate(s, a.host, a.loopback); err != nil {
		return "", nil, err
	}
	pw := a.password.Reveal()
	resp := make([]byte, 0, 2+len(a.username)+len(pw))
	resp = append(resp, 0)
	resp = append(resp, a.username...)
	resp = append(resp, 0)
	resp = append(resp, pw...)
	return "PLAIN", resp, nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, &refusedError{msg: "the server sent a challenge after AUTH PLAIN"}
	}
	return nil, nil
}

// loginAuth is the LOGIN mechanism: the server prompts "Username:" and
// "Password:" (base64, decoded by net/smtp), the client answers each.
type loginAuth struct {
	username string
	password secrets.Value
	host     string
	loopback bool
	step     int
}

func (a *loginAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if err := mayAuthenticate(s, a.host, a.loopback); err != nil {
		return "", nil, err
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(prompt []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	p := strings.ToLower(string(prompt))
	switch {
	case strings.Contains(p, "user"), a.step == 1 && !strings.Contains(p, "pass"):
		return []byte(a.username), nil
	case strings.Contains(p, "pass"), a.step == 2:
		return append([]byte(nil), a.password.Reveal()...), nil
	}
	return nil, &refusedError{msg: "unexpected AUTH LOGIN prompt"}
}

// mayAuthenticate refuses to send credentials in the clear to anything
// but a loopback host.
func mayAuthenticate(s *smtp.ServerInfo, host string, loopback bool) error {
	if s.Name != host {
		return &refusedError{msg: fmt.Sprintf("refusing to authenticate: connected to %q, not %q", s.Name, host)}
	}
	if !s.TLS && !loopback {
		return &refusedError{msg: fmt.Sprintf("refusing to send credentials to %s without TLS", host)}
	}
	return nil
}

// refusedError is something this channel refuses to do, whatever the
// server: permanent.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }

// redact returns err, or when its text shows the password (as is, or in
// the base64 forms AUTH PLAIN and LOGIN send it in) an error with the same
// SMTP code whose text replaces it with [redacted].
func redact(err error, username string, password secrets.Value) error {
	pw := string(password.Reveal())
	if err == nil || pw == "" {
		return err
	}
	forms := []string{
		pw,
		base64.StdEncoding.EncodeToString([]byte(pw)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + username + "\x00" + pw)),
	}
	text := err.Error()
	leaked := false
	for _, f := range forms {
		if strings.Contains(text, f) {
			leaked = true
			text = strings.ReplaceAll(text, f, secrets.Redacted)
		}
	}
	if !leaked {
		return err
	}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		msg := reply.Msg
		for _, f := range forms {
			msg = strings.ReplaceAll(msg, f, secrets.Redacted)
		}
		return &textproto.Error{Code: reply.Code, Msg: msg}
	}
	return errors.New(text)
}
