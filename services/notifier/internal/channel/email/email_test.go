package email_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
	"github.com/penguinmails/floe/services/notifier/internal/channel/channeltest"
	"github.com/penguinmails/floe/services/notifier/internal/channel/email"
)

const (
	username = "floe-notifier"
	password = "s3cret-Pa55word"
)

// testCert is a self-signed certificate for 127.0.0.1, ::1 and localhost,
// and a pool that trusts it.
var testCert = sync.OnceValues(func() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "floe test SMTP server"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
})

// serverOpts shapes the test SMTP server.
type serverOpts struct {
	// tls offers STARTTLS with testCert.
	tls bool
	// mechs are the AUTH mechanisms offered (sasl.Plain, sasl.Login); with
	// any, MAIL needs a successful AUTH with username and password.
	mechs []string
	// insecureAuth offers AUTH without TLS.
	insecureAuth bool
}

// envelope is a transaction the server accepted.
type envelope struct {
	From string
	To   []string
	TLS  bool
	User string
	Data []byte
}

// failure is a refusal the server has in store for the next command at stage.
type failure struct {
	stage string // "RCPT" or "DATA"
	code  int
}

// smtpServer is a real SMTP server (go-smtp) on loopback that records what
// it accepts and refuses on demand.
type smtpServer struct {
	addr string
	opts serverOpts

	mu    sync.Mutex
	got   []envelope
	fails []failure
}

func startServer(t *testing.T, o serverOpts) *smtpServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: l.Addr().String(), opts: o}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.AllowInsecureAuth = o.insecureAuth
	if o.tls {
		cert, _ := testCert()
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// failNext makes the next n commands at stage fail with code.
func (s *smtpServer) failNext(n int, stage string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, failure{stage: stage, code: code})
	}
}

// refusal pops the failure due at stage, if any.
func (s *smtpServer) refusal(stage string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) == 0 || s.fails[0].stage != stage {
		return nil
	}
	f := s.fails[0]
	s.fails = s.fails[1:]
	return &smtp.SMTPError{
		Code:         f.code,
		EnhancedCode: smtp.EnhancedCode{f.code / 100, 0, 0},
		Message:      "refused by the test at " + stage,
	}
}

func (s *smtpServer) received() []envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]envelope(nil), s.got...)
}

// session is one SMTP session of smtpServer (go-smtp starts a new one after STARTTLS).
type session struct {
	s    *smtpServer
	conn *smtp.Conn
	user string
	env  envelope
}

func (x *session) AuthMechanisms() []string { return x.s.opts.mechs }

func (x *session) Auth(mech string) (sasl.Server, error) {
	check := func(u, p string) error {
		if u != username || p != password {
			return smtp.ErrAuthFailed
		}
		x.user = u
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, u, p string) error {
			if identity != "" && identity != u {
				return smtp.ErrAuthFailed
			}
			return check(u, p)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(x.s.opts.mechs) > 0 && x.user == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := x.conn.TLSConnectionState()
	x.env = envelope{From: from, TLS: isTLS, User: x.user}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := x.s.refusal("RCPT"); err != nil {
		return err
	}
	x.env.To = append(x.env.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := x.s.refusal("DATA"); err != nil {
		return err
	}
	x.env.Data = data
	x.s.mu.Lock()
	x.s.got = append(x.s.got, x.env)
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset()        { x.env = envelope{} }
func (x *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch {
	case l.step == 1 && resp == nil:
		return []byte("Username:"), false, nil
	case l.step == 1:
		l.step++
		l.user = string(resp)
		return []byte("Password:"), false, nil
	case l.step == 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	case l.step == 3:
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected AUTH LOGIN step")
}

// newChannel is a channel to s with credentials, trusting testCert; edit
// may change the configuration.
func newChannel(t *testing.T, s *smtpServer, edit func(*email.Config)) *email.Channel {
	t.Helper()
	_, pool := testCert()
	cfg := email.Config{
		Addr:      s.addr,
		From:      "Floe Releases <releases@floe.example>",
		To:        []string{"Ops Team <ops@example.com>", "oncall@example.com"},
		Username:  username,
		Password:  secrets.NewValueString(password),
		TLSConfig: &tls.Config{RootCAs: pool},
		Now:       func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600)) },
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// part is one MIME part as received.
type part struct {
	ContentType string
	Encoding    string
	Body        string
}

// parsed is a message as a mail client reads it.
type parsed struct {
	Header mail.Header
	Parts  []part
}

// parse reads data with net/mail and mime/multipart, decoding each part's
// quoted-printable by hand (NextRawPart) so that the encoding is checked too.
func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	for i, line := range strings.Split(string(data), "\r\n") {
		if len(line) > 998 || strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d is not a valid message line: %q", i, line)
		}
	}
	for i, b := range data {
		if b >= 0x80 {
			t.Fatalf("byte %d is not 7-bit: %#x", i, b)
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{Header: m.Header}
	ct := m.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatal(err)
	}
	decode := func(enc string, r io.Reader) string {
		if enc != "quoted-printable" {
			t.Fatalf("Content-Transfer-Encoding %q, want quoted-printable", enc)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(r))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		enc := m.Header.Get("Content-Transfer-Encoding")
		p.Parts = []part{{ContentType: ct, Encoding: enc, Body: decode(enc, m.Body)}}
		return p
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		mp, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		enc := mp.Header.Get("Content-Transfer-Encoding")
		p.Parts = append(p.Parts, part{ContentType: mp.Header.Get("Content-Type"), Encoding: enc, Body: decode(enc, mp)})
	}
	return p
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// TestSendsAnEpisode sends the two messages of an episode over STARTTLS
// and AUTH PLAIN and checks the envelope, every header and both parts.
func TestSendsAnEpisode(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{tls: true, mechs: []string{sasl.Plain}})
	c := newChannel(t, s, nil)
	if c.Kind() != "email" {
		t.Fatalf("kind %q", c.Kind())
	}
	long := strings.Repeat("0123456789 ", 20)
	first := channel.Message{
		ID:      "01JX9ZK3-ep1-1",
		Episode: "ep1",
		Subject: "Rollback of 1.4.0 — production ✓",
		Text:    "canary 1.4.0 failed: error rate 12% = too high\n.\n" + long + "\nrolling back to 1.3.2 …",
		HTML:    "<p>canary <b>1.4.0</b> failed — error rate 12%</p>\n<p>rolling back to 1.3.2 …</p>",
		Time:    time.Now(),
	}
	r1, err := c.Send(ctx(t), first, channel.Thread{})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Ref != "<01JX9ZK3-ep1-1@floe>" {
		t.Fatalf("receipt %q, want the Message-ID <01JX9ZK3-ep1-1@floe>", r1.Ref)
	}
	second := channel.Message{
		ID:      "01JX9ZK3-ep1-2",
		Episode: "ep1",
		Subject: "Rollback of 1.4.0 — production ✓",
		Text:    "rolled back to 1.3.2",
	}
	r2, err := c.Send(ctx(t), second, channel.Thread{Ref: r1.Ref})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Ref != "<01JX9ZK3-ep1-2@floe>" {
		t.Fatalf("receipt %q", r2.Ref)
	}

	got := s.received()
	if len(got) != 2 {
		t.Fatalf("the server accepted %d messages, want 2", len(got))
	}
	for i, e := range got {
		want := envelope{From: "releases@floe.example", To: []string{"ops@example.com", "oncall@example.com"}, TLS: true, User: username}
		e.Data = nil
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("message %d envelope (-want +got):\n%s", i+1, diff)
		}
	}

	m1, m2 := parse(t, got[0].Data), parse(t, got[1].Data)
	for i, m := range []parsed{m1, m2} {
		from, err := m.Header.AddressList("From")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*mail.Address{{Name: "Floe Releases", Address: "releases@floe.example"}}, from); diff != "" {
			t.Errorf("message %d From (-want +got):\n%s", i+1, diff)
		}
		to, err := m.Header.AddressList("To")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*mail.Address{{Name: "Ops Team", Address: "ops@example.com"}, {Address: "oncall@example.com"}}, to); diff != "" {
			t.Errorf("message %d To (-want +got):\n%s", i+1, diff)
		}
		raw := m.Header.Get("Subject")
		if !strings.HasPrefix(raw, "=?utf-8?q?") {
			t.Errorf("message %d Subject %q is not RFC 2047 encoded", i+1, raw)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(raw)
		if err != nil || subject != "Rollback of 1.4.0 — production ✓" {
			t.Errorf("message %d Subject decodes to %q, %v", i+1, subject, err)
		}
		date, err := m.Header.Date()
		if err != nil || !date.Equal(time.Date(2026, 3, 4, 4, 6, 7, 0, time.UTC)) {
			t.Errorf("message %d Date %v, %v", i+1, date, err)
		}
		for k, v := range map[string]string{"Auto-Submitted": "auto-generated", "MIME-Version": "1.0"} {
			if got := m.Header.Get(k); got != v {
				t.Errorf("message %d %s %q, want %q", i+1, k, got, v)
			}
		}
	}
	if got := m1.Header.Get("Message-ID"); got != "<01JX9ZK3-ep1-1@floe>" {
		t.Errorf("first Message-ID %q", got)
	}
	if got := m2.Header.Get("Message-ID"); got != "<01JX9ZK3-ep1-2@floe>" {
		t.Errorf("second Message-ID %q", got)
	}
	for _, k := range []string{"In-Reply-To", "References"} {
		if _, ok := m1.Header[k]; ok {
			t.Errorf("the episode's first message has %s", k)
		}
		if got := m2.Header.Get(k); got != "<01JX9ZK3-ep1-1@floe>" {
			t.Errorf("the second message's %s is %q, want the first's Message-ID", k, got)
		}
	}
	if mt, _, _ := mime.ParseMediaType(m1.Header.Get("Content-Type")); mt != "multipart/alternative" {
		t.Errorf("first message Content-Type %q, want multipart/alternative", m1.Header.Get("Content-Type"))
	}
	wantParts := []part{
		{ContentType: "text/plain; charset=utf-8", Encoding: "quoted-printable", Body: crlf(first.Text)},
		{ContentType: "text/html; charset=utf-8", Encoding: "quoted-printable", Body: crlf(first.HTML)},
	}
	if diff := cmp.Diff(wantParts, m1.Parts); diff != "" {
		t.Errorf("first message parts (-want +got):\n%s", diff)
	}
	// Without HTML the message is a single text/plain part, whose last line
	// ends with CRLF like all the body's lines.
	wantParts = []part{{ContentType: "text/plain; charset=utf-8", Encoding: "quoted-printable", Body: second.Text + "\r\n"}}
	if diff := cmp.Diff(wantParts, m2.Parts); diff != "" {
		t.Errorf("second message parts (-want +got):\n%s", diff)
	}
}

// TestHeaders checks what could break a header: a subject with a line
// break, a plain ASCII one, a long one, odd message ids.
func TestHeaders(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{tls: true})
	c := newChannel(t, s, func(cfg *email.Config) {
		cfg.Username, cfg.Password = "", secrets.Value{}
		cfg.To = []string{"ops@example.com"}
	})
	long := strings.TrimSpace(strings.Repeat("release 1.4.0 of penguinmails ", 8))
	tests := []struct {
		name, id, subject string
		wantID            string
	}{
		{name: "ascii subject", id: "m-1", subject: "Release 1.4.0 reached production", wantID: "<m-1@floe>"},
		{name: "injected header", id: "m-2", subject: "hi\r\nBcc: evil@example.com", wantID: "<m-2@floe>"},
		{name: "long subject", id: "m-3", subject: long, wantID: "<m-3@floe>"},
		{name: "id with spaces and brackets", id: "a b<c>", subject: "x", wantID: "<a%20b%3Cc%3E@floe>"},
		{name: "id with an at sign and a percent", id: "u@h%41", subject: "x", wantID: "<u%40h%2541@floe>"},
		{name: "id with stray dots", id: ".a..b.", subject: "x", wantID: "<%2Ea.%2Eb%2E@floe>"},
	}
	for i, tt := range tests {
		r, err := c.Send(ctx(t), channel.Message{ID: tt.id, Subject: tt.subject, Text: "x"}, channel.Thread{})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := s.received()
		m := parse(t, got[i].Data)
		if r.Ref != tt.wantID || m.Header.Get("Message-ID") != tt.wantID {
			t.Errorf("%s: receipt %q, Message-ID %q, want %q", tt.name, r.Ref, m.Header.Get("Message-ID"), tt.wantID)
		}
		if _, ok := m.Header["Bcc"]; ok {
			t.Errorf("%s: the subject injected a Bcc header", tt.name)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil || subject != tt.subject {
			t.Errorf("%s: Subject decodes to %q, %v; want %q", tt.name, subject, err, tt.subject)
		}
	}
	// A thread reference is taken with or without its brackets, and one
	// that is not a Message-ID is refused before any connection.
	if _, err := c.Send(ctx(t), channel.Message{ID: "m-9", Text: "x"}, channel.Thread{Ref: "first@floe"}); err != nil {
		t.Fatal(err)
	}
	got := s.received()
	if irt := parse(t, got[len(got)-1].Data).Header.Get("In-Reply-To"); irt != "<first@floe>" {
		t.Errorf("In-Reply-To %q", irt)
	}
	for _, ref := range []string{"no-at-sign", "<a@b>\r\nBcc: evil@example.com", "<a b@c>"} {
		_, err := c.Send(ctx(t), channel.Message{ID: "m-10", Text: "x"}, channel.Thread{Ref: ref})
		var ce *channel.Error
		if !errors.As(err, &ce) || !ce.Permanent {
			t.Errorf("thread %q: %v, want a permanent *channel.Error", ref, err)
		}
	}
	// A message without an ID has no stable Message-ID: refused.
	_, err := c.Send(ctx(t), channel.Message{Text: "x"}, channel.Thread{})
	var ce *channel.Error
	if !errors.As(err, &ce) || !ce.Permanent {
		t.Errorf("a message without an ID: %v, want a permanent *channel.Error", err)
	}
	if n := len(s.received()); n != len(tests)+1 {
		t.Errorf("the server accepted %d messages, want %d", n, len(tests)+1)
	}
}

// TestAuthAndTLS covers the mechanisms and the rules on plaintext.
func TestAuthAndTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		server    serverOpts
		edit      func(*email.Config)
		wantTLS   bool
		wantUser  string
		permanent bool // else success
		transient bool
		wantErr   string
	}{
		{name: "AUTH LOGIN when PLAIN is not offered", server: serverOpts{tls: true, mechs: []string{sasl.Login}}, wantTLS: true, wantUser: username},
		{name: "PLAIN preferred", server: serverOpts{tls: true, mechs: []string{sasl.Login, sasl.Plain}}, wantTLS: true, wantUser: username},
		{name: "LOGIN insisted on", server: serverOpts{tls: true, mechs: []string{sasl.Plain, sasl.Login}}, edit: func(c *email.Config) { c.Auth = email.AuthLogin }, wantTLS: true, wantUser: username},
		{name: "PLAIN insisted on, only LOGIN offered", server: serverOpts{tls: true, mechs: []string{sasl.Login}}, edit: func(c *email.Config) { c.Auth = email.AuthPlain }, permanent: true, wantErr: "none of them usable"},
		{name: "credentials but no AUTH offered", server: serverOpts{tls: true}, permanent: true, wantErr: "offers no AUTH"},
		{name: "wrong password", server: serverOpts{tls: true, mechs: []string{sasl.Plain}}, edit: func(c *email.Config) { c.Password = secrets.NewValueString("wrong-" + password) }, permanent: true, wantErr: "535"},
		{name: "no STARTTLS offered", server: serverOpts{mechs: []string{sasl.Plain}, insecureAuth: true}, permanent: true, wantErr: "offers no STARTTLS"},
		{name: "plaintext allowed to loopback", server: serverOpts{mechs: []string{sasl.Plain}, insecureAuth: true}, edit: func(c *email.Config) { c.AllowPlaintext = true }, wantUser: username},
		{name: "STARTTLS used when offered even if plaintext is allowed", server: serverOpts{tls: true}, edit: func(c *email.Config) { c.AllowPlaintext, c.Username, c.Password = true, "", secrets.Value{} }, wantTLS: true},
		{name: "untrusted certificate", server: serverOpts{tls: true, mechs: []string{sasl.Plain}}, edit: func(c *email.Config) { c.TLSConfig = nil }, transient: true, wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, tt.server)
			c := newChannel(t, s, tt.edit)
			_, err := c.Send(ctx(t), channel.Message{ID: "m-1", Subject: "s", Text: "t"}, channel.Thread{})
			got := s.received()
			if !tt.permanent && !tt.transient {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].TLS != tt.wantTLS || got[0].User != tt.wantUser {
					t.Fatalf("received %+v; want one message, TLS %v, user %q", got, tt.wantTLS, tt.wantUser)
				}
				return
			}
			var ce *channel.Error
			if !errors.As(err, &ce) || ce.Permanent != tt.permanent || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v; want a *channel.Error, permanent %v, saying %q", err, tt.permanent, tt.wantErr)
			}
			if strings.Contains(err.Error(), password) {
				t.Fatalf("the error shows the password: %v", err)
			}
			if len(got) != 0 {
				t.Fatalf("the server accepted %d messages", len(got))
			}
		})
	}
}

// TestReplies maps the server's refusals to channel errors.
func TestReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stage     string
		code      int
		permanent bool
	}{
		{"RCPT", 450, false},
		{"RCPT", 451, false},
		{"RCPT", 452, false},
		{"RCPT", 550, true},
		{"RCPT", 553, true},
		{"DATA", 451, false},
		{"DATA", 452, false},
		{"DATA", 550, true},
		{"DATA", 554, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.stage, tt.code), func(t *testing.T) {
			t.Parallel()
			s := startServer(t, serverOpts{tls: true, mechs: []string{sasl.Plain}})
			c := newChannel(t, s, nil)
			s.failNext(1, tt.stage, tt.code)
			_, err := c.Send(ctx(t), channel.Message{ID: "m-1", Text: "t"}, channel.Thread{})
			var ce *channel.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *channel.Error", err)
			}
			if ce.Permanent != tt.permanent || ce.Status != tt.code || ce.RetryAfter != 0 {
				t.Fatalf("error %+v; want permanent %v, status %d", ce, tt.permanent, tt.code)
			}
			if !strings.Contains(err.Error(), tt.stage) || !strings.Contains(err.Error(), s.addr) {
				t.Fatalf("error %q does not say which step at which server failed", err)
			}
			if len(s.received()) != 0 {
				t.Fatal("a refused message was recorded")
			}
			// The refusal was for one attempt: the retry goes through.
			if _, err := c.Send(ctx(t), channel.Message{ID: "m-1", Text: "t"}, channel.Thread{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestConnectionFailures: a refused connection, a server that never
// answers, a cancelled context.
func TestConnectionFailures(t *testing.T) {
	t.Parallel()
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()

	// A server that accepts and says nothing.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		conns sync.WaitGroup
		mu    sync.Mutex
		open  []net.Conn
	)
	conns.Go(func() {
		for {
			conn, err := mute.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, conn)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = mute.Close()
		conns.Wait()
		for _, c := range open {
			_ = c.Close()
		}
	})

	send := func(t *testing.T, addr string, timeout time.Duration, ctx context.Context) error {
		c, err := email.New(email.Config{Addr: addr, From: "floe@example.com", To: []string{"ops@example.com"}, Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Send(ctx, channel.Message{ID: "m-1", Text: "t"}, channel.Thread{})
		return err
	}
	transient := func(t *testing.T, err error, cause error) {
		t.Helper()
		var ce *channel.Error
		if !errors.As(err, &ce) || ce.Permanent || ce.Status != 0 {
			t.Fatalf("error %v; want a transient *channel.Error", err)
		}
		if cause != nil && !errors.Is(err, cause) {
			t.Fatalf("error %v is not %v", err, cause)
		}
	}

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		transient(t, send(t, closed, 0, context.Background()), nil)
	})
	t.Run("the context's deadline", func(t *testing.T) {
		t.Parallel()
		c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := send(t, mute.Addr().String(), 0, c)
		transient(t, err, context.DeadlineExceeded)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("the send took %s", d)
		}
	})
	t.Run("the configured timeout", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		transient(t, send(t, mute.Addr().String(), 200*time.Millisecond, context.Background()), context.DeadlineExceeded)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("the send took %s", d)
		}
	})
	t.Run("cancelled during the session", func(t *testing.T) {
		t.Parallel()
		c, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		transient(t, send(t, mute.Addr().String(), 0, c), context.Canceled)
	})
}

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	_, err := email.New(email.Config{
		Addr:            "smtp.example.com",
		From:            "not an address",
		To:              []string{"ok@example.com", "bad"},
		Username:        "u",
		Auth:            "cram-md5",
		MessageIDDomain: "a..b",
		Timeout:         -1,
	})
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Fatalf("error %v, want an *errs.InvalidArgumentError", err)
	}
	var fields []string
	for _, v := range ia.Violations {
		fields = append(fields, v.Field)
	}
	want := []string{"addr", "from", "to[1]", "password", "auth", "messageIdDomain", "timeout"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("violations (-want +got):\n%s\n%v", diff, err)
	}

	_, err = email.New(email.Config{Addr: "smtp.example.com:587", From: "floe@example.com", To: []string{"ops@example.com"}, AllowPlaintext: true})
	if !errors.As(err, &ia) || len(ia.Violations) != 1 || ia.Violations[0].Field != "allowPlaintext" {
		t.Errorf("plaintext to a remote host: %v, want one violation of allowPlaintext", err)
	}
	for _, addr := range []string{"127.0.0.1:25", "[::1]:25", "localhost:1025"} {
		if _, err := email.New(email.Config{Addr: addr, From: "floe@example.com", To: []string{"ops@example.com"}, AllowPlaintext: true}); err != nil {
			t.Errorf("plaintext to %s: %v", addr, err)
		}
	}
	_, err = email.New(email.Config{Addr: "smtp.example.com:587", From: "floe@example.com"})
	if !errors.As(err, &ia) || len(ia.Violations) != 1 || ia.Violations[0].Field != "to" {
		t.Errorf("no recipients: %v, want one violation of to", err)
	}
}

// TestConformance runs the channel suite, the server refusing at RCPT and
// then at DATA (451 transient, 550 permanent).
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, stage := range []string{"RCPT", "DATA"} {
		t.Run("refused at "+stage, func(t *testing.T) {
			t.Parallel()
			channeltest.Run(t, true, func(t *testing.T) *channeltest.Harness {
				s := startServer(t, serverOpts{tls: true, mechs: []string{sasl.Plain}})
				c := newChannel(t, s, nil)
				return &channeltest.Harness{
					Channel: c,
					Received: func() []channeltest.Got {
						var out []channeltest.Got
						for _, e := range s.received() {
							m := parse(t, e.Data)
							out = append(out, channeltest.Got{
								ID:        m.Header.Get("Message-ID"),
								Text:      m.Parts[0].Body,
								ThreadRef: m.Header.Get("In-Reply-To"),
							})
						}
						return out
					},
					Fail: func(n int, permanent bool, _ time.Duration) {
						code := 451
						if permanent {
							code = 550
						}
						s.failNext(n, stage, code)
					},
					Secrets: []string{password, username + "\x00" + password},
				}
			})
		})
	}
}
