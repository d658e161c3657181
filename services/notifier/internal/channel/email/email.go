package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
)

// Kind is the channel kind of this package.
const Kind = "email"

// Defaults of Config.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultHeloName        = "localhost"
	DefaultMessageIDDomain = "floe"
)

// Auth mechanisms Config.Auth may name.
const (
	AuthAuto  = ""      // PLAIN when the server offers it, else LOGIN
	AuthPlain = "plain" // RFC 4616
	AuthLogin = "login" // the de-facto LOGIN mechanism (Outlook, older servers)
)

// Config is one email receiver: the submission server and the envelope.
type Config struct {
	// Addr is the SMTP submission server, host:port (usually port 587).
	Addr string
	// From is the author, an RFC 5322 address ("Floe <floe@example.com>");
	// its address is also the envelope sender (MAIL FROM).
	From string
	// To are the recipients, RFC 5322 addresses; each is a RCPT TO and all
	// are listed in the To header.
	To []string
	// Username and Password, when set, authenticate with AUTH PLAIN or LOGIN,
	// only over TLS or to a loopback host. Password is resolved from a
	// secret reference and prints as [redacted].
	Username string
	Password secrets.Value
	// Auth picks the mechanism: AuthAuto (default), AuthPlain or AuthLogin.
	Auth string
	// AllowPlaintext lets a session go on without TLS when the server offers
	// no STARTTLS; only allowed with a loopback Addr (development: MailHog,
	// Mailpit). Without it a server that offers no STARTTLS is refused.
	AllowPlaintext bool
	// TLSConfig verifies the server after STARTTLS (RootCAs, say); nil uses
	// the system roots. ServerName defaults to Addr's host, and TLS 1.2 is
	// the minimum.
	TLSConfig *tls.Config
	// HeloName is the name given in EHLO (default DefaultHeloName).
	HeloName string
	// MessageIDDomain is the right-hand side of every Message-ID
	// (default DefaultMessageIDDomain, giving <ID@floe>).
	MessageIDDomain string
	// Timeout bounds one Send, dial to QUIT, within the context's own
	// deadline (default DefaultTimeout).
	Timeout time.Duration
	// Now is the clock of the Date header (default time.Now).
	Now func() time.Time
}

// Channel sends a Message as one email to the configured recipients. It is
// safe for concurrent use: each Send has its own SMTP session.
type Channel struct {
	addr, host     string
	loopback       bool
	from           *mail.Address
	to             []*mail.Address
	username       string
	password       secrets.Value
	auth           string
	allowPlaintext bool
	tls            *tls.Config
	helo           string
	idDomain       string
	timeout        time.Duration
	now            func() time.Time
}

var _ channel.Channel = (*Channel)(nil)

// New checks cfg, reporting every problem at once (an
// *errs.InvalidArgumentError), and returns a Channel.
func New(cfg Config) (*Channel, error) {
	var v errs.Violations
	c := &Channel{
		addr:           cfg.Addr,
		username:       cfg.Username,
		password:       cfg.Password,
		auth:           strings.ToLower(cfg.Auth),
		allowPlaintext: cfg.AllowPlaintext,
		helo:           cfg.HeloName,
		idDomain:       cfg.MessageIDDomain,
		timeout:        cfg.Timeout,
		now:            cfg.Now,
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" || port == "" {
		v.Add("addr", "want host:port of the SMTP server, got %q", cfg.Addr)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		v.Add("addr", "port %q is not a port number", port)
	}
	c.host = host
	c.loopback = isLoopback(host)
	if cfg.AllowPlaintext && host != "" && !c.loopback {
		v.Add("allowPlaintext", "plaintext SMTP is allowed only to a loopback host, not %q", host)
	}
	if c.from, err = mail.ParseAddress(cfg.From); err != nil {
		v.Add("from", "not an email address: %v", err)
	}
	if len(cfg.To) == 0 {
		v.Add("to", "name at least one recipient")
	}
	for i, s := range cfg.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			v.Add(fmt.Sprintf("to[%d]", i), "not an email address: %v", err)
			continue
		}
		c.to = append(c.to, a)
	}
	switch {
	case cfg.Username != "" && cfg.Password.IsZero():
		v.Add("password", "a username needs a password")
	case cfg.Username == "" && !cfg.Password.IsZero():
		v.Add("username", "a password needs a username")
	}
	switch c.auth {
	case AuthAuto, AuthPlain, AuthLogin:
	default:
		v.Add("auth", "want %q, %q or empty (either, PLAIN preferred), got %q", AuthPlain, AuthLogin, cfg.Auth)
	}
	if c.helo == "" {
		c.helo = DefaultHeloName
	}
	if strings.ContainsAny(c.helo, " \r\n") {
		v.Add("heloName", "not a host name: %q", c.helo)
	}
	if c.idDomain == "" {
		c.idDomain = DefaultMessageIDDomain
	}
	if !isDotAtom(c.idDomain) {
		v.Add("messageIdDomain", "not a domain usable in a Message-ID: %q", c.idDomain)
	}
	if c.timeout < 0 {
		v.Add("timeout", "must not be negative")
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if cfg.TLSConfig != nil {
		c.tls = cfg.TLSConfig.Clone()
	} else {
		c.tls = &tls.Config{}
	}
	if c.tls.ServerName == "" {
		c.tls.ServerName = host
	}
	if c.tls.MinVersion < tls.VersionTLS12 {
		c.tls.MinVersion = tls.VersionTLS12
	}
	return c, nil
}

// Kind returns "email".
func (c *Channel) Kind() string { return Kind }

// Send delivers m to every recipient in one SMTP transaction. Its
// Message-ID is <m.ID@domain>, the same on every retry, and is the
// receipt's Ref; a non-empty t.Ref becomes In-Reply-To and References, so
// mail clients thread an episode.
//
// Errors are *channel.Error: an SMTP 4xx reply is transient and a 5xx
// permanent (Status is the reply code), a failed connection or a timeout is
// transient, and a message or server this channel cannot send to safely (no
// ID, no STARTTLS, no usable AUTH) is permanent. A refused recipient fails
// the whole send before DATA, so nobody got the message and a retry is
// clean.
func (c *Channel) Send(ctx context.Context, m channel.Message, t channel.Thread) (channel.Receipt, error) {
	id, err := messageID(m.ID, c.idDomain)
	if err != nil {
		return channel.Receipt{}, permanent(err)
	}
	parent, err := threadRef(t.Ref)
	if err != nil {
		return channel.Receipt{}, permanent(err)
	}
	data := compose(header{
		from:      c.from,
		to:        c.to,
		subject:   m.Subject,
		date:      c.now(),
		messageID: id,
		inReplyTo: parent,
	}, m.Text, m.HTML)
	if err := c.deliver(ctx, data); err != nil {
		return channel.Receipt{}, err
	}
	return channel.Receipt{Ref: id}, nil
}

// deliver runs one SMTP session: EHLO, STARTTLS, AUTH, MAIL, RCPT…, DATA, QUIT.
func (c *Channel) deliver(ctx context.Context, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return c.fail(ctx, "connect", err)
	}
	defer conn.Close()
	// net/smtp knows no contexts: when ctx ends (cancelled, or its deadline,
	// which includes c.timeout) the connection's deadline is set in the
	// past, which fails the command in flight; ctx.Err is set by then, so
	// fail reports the context's error rather than an i/o timeout.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	cl, err := smtp.NewClient(conn, c.host)
	if err != nil {
		return c.fail(ctx, "greeting", err)
	}
	defer cl.Close()
	if err := cl.Hello(c.helo); err != nil {
		return c.fail(ctx, "EHLO", err)
	}
	if ok, _ := cl.Extension("STARTTLS"); ok {
		if err := cl.StartTLS(c.tls); err != nil {
			return c.fail(ctx, "STARTTLS", err)
		}
	} else if !c.allowPlaintext {
		return permanent(fmt.Errorf("email: %s offers no STARTTLS and plaintext is not allowed", c.addr))
	}
	if c.username != "" {
		if err := c.authenticate(cl); err != nil {
			return c.fail(ctx, "AUTH", err)
		}
	}
	if err := cl.Mail(c.from.Address); err != nil {
		return c.fail(ctx, "MAIL FROM <"+c.from.Address+">", err)
	}
	for _, to := range c.to {
		if err := cl.Rcpt(to.Address); err != nil {
			return c.fail(ctx, "RCPT TO <"+to.Address+">", err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return c.fail(ctx, "DATA", err)
	}
	if _, err := w.Write(data); err != nil {
		return c.fail(ctx, "DATA", err)
	}
	// Close sends the final "." and reads the server's verdict on the message.
	if err := w.Close(); err != nil {
		return c.fail(ctx, "DATA", err)
	}
	// The message is accepted: a failed QUIT changes nothing.
	_ = cl.Quit()
	return nil
}

// authenticate picks the mechanism among those the server offers.
func (c *Channel) authenticate(cl *smtp.Client) error {
	ok, offered := cl.Extension("AUTH")
	if !ok {
		return errNoAuth{addr: c.addr, offered: ""}
	}
	has := func(mech string) bool {
		for _, m := range strings.Fields(offered) {
			if strings.EqualFold(m, mech) {
				return true
			}
		}
		return false
	}
	var a smtp.Auth
	switch {
	case c.auth != AuthLogin && has("PLAIN"):
		a = &plainAuth{username: c.username, password: c.password, host: c.host, loopback: c.loopback}
	case c.auth != AuthPlain && has("LOGIN"):
		a = &loginAuth{username: c.username, password: c.password, host: c.host, loopback: c.loopback}
	default:
		return errNoAuth{addr: c.addr, offered: offered}
	}
	return cl.Auth(a)
}

// errNoAuth is a server that offers no mechanism this channel may use.
type errNoAuth struct{ addr, offered string }

func (e errNoAuth) Error() string {
	if e.offered == "" {
		return fmt.Sprintf("%s offers no AUTH", e.addr)
	}
	return fmt.Sprintf("%s offers AUTH %s, none of them usable", e.addr, e.offered)
}

// fail turns err from step into a *channel.Error (see Send) that shows no
// credential.
func (c *Channel) fail(ctx context.Context, step string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &channel.Error{Err: fmt.Errorf("email: %s at %s: %w", step, c.addr, ctxErr)}
	}
	err = redact(err, c.username, c.password)
	e := &channel.Error{Err: fmt.Errorf("email: %s at %s: %w", step, c.addr, err)}
	var reply *textproto.Error
	var noAuth errNoAuth
	var refused *refusedError
	switch {
	case errors.As(err, &reply):
		e.Status = reply.Code
		e.Permanent = reply.Code >= 500 && reply.Code < 600
	case errors.As(err, &noAuth), errors.As(err, &refused):
		e.Permanent = true
	}
	return e
}

func permanent(err error) *channel.Error { return &channel.Error{Permanent: true, Err: err} }

// isLoopback says whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
