// Package email is the notifier's email channel: it sends a
// channel.Message over SMTP submission to the recipients of one receiver,
// and passes channeltest.Run (threads=true) against a real SMTP server on
// loopback.
//
// # Session
//
// Each Send is one SMTP session: connect, EHLO, STARTTLS, AUTH, MAIL FROM,
// one RCPT TO per recipient, DATA, QUIT. STARTTLS is required: a server that
// does not offer it is refused (a permanent error), unless
// Config.AllowPlaintext is set, which New accepts only for a loopback
// address (a development mail catcher). The server certificate is verified
// against Config.TLSConfig (system roots by default), TLS 1.2 at least.
// With a username and password the channel authenticates with AUTH PLAIN,
// or LOGIN when PLAIN is not offered (Config.Auth can insist on either);
// credentials are never sent without TLS to a host that is not loopback.
// The dial and every command are bounded by the context and Config.Timeout;
// cancelling the context ends the session at once.
//
// The client is the standard library's net/smtp driven over a connection
// this package dials: net/smtp already does EHLO, STARTTLS with the second
// EHLO, SASL exchanges, dot-stuffing and multi-line replies, and reports a
// reply as a *textproto.Error with its code. What it lacks is added here:
// contexts (a deadline on the connection, expired when the context ends),
// PLAIN and LOGIN mechanisms that apply this package's loopback rule and
// read the password from a secrets.Value, and the mapping of replies to
// channel errors. A hand-written client would repeat those parts of the
// protocol for no gain; net/smtp is frozen, not deprecated, and SMTP
// submission has not moved.
//
// # Message
//
// The message is UTF-8 throughout and 7-bit on the wire: From and To from the
// configuration, Subject (RFC 2047 encoded words when not ASCII), Date,
// Message-ID, Auto-Submitted: auto-generated (RFC 3834, so vacation
// responders stay quiet), MIME-Version, and the body. With Message.HTML set
// the body is multipart/alternative with a text/plain part (Message.Text)
// then a text/html part (Message.HTML); without it, the body is a single
// text/plain part. No HTML is derived from the text: a copy of the text
// wrapped in tags would show nothing the plain part does not, and every mail
// client shows text/plain. Every part is charset=utf-8 in quoted-printable.
//
// The Message-ID is <Message.ID@floe> (Config.MessageIDDomain), with any
// character a Message-ID may not hold written %XX, so a retry carries the
// same Message-ID and a receiving system can drop the duplicate. It is the
// Receipt's Ref: given back as Thread.Ref for the next message of the
// episode it becomes In-Reply-To and References, and mail clients show the
// episode as one conversation (Gmail also wants the subjects to match up to
// a "Re:" prefix: keep an episode's subject stable in the templates).
//
// # Errors
//
// Every error is a *channel.Error whose text names the step and the server
// and never a credential (a server reply that echoes the password is
// redacted). A 4xx reply is transient and a 5xx permanent, with Status the
// reply code; a connection that fails or times out is transient; a message
// without an ID, a thread reference that is not a Message-ID, a server
// without STARTTLS or without a usable AUTH mechanism are permanent. A
// recipient refused at RCPT fails the whole send before DATA, so no one
// received the message and a retry (after a 4xx) cannot duplicate it for the
// others; after a 5xx the receiver's configuration needs fixing. The one
// ambiguous case is a connection lost after the final "." and before the
// server's answer: the send is reported transient, and a retry may deliver
// a second copy, with the same Message-ID.
package email
