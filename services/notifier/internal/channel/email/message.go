package email

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// header is what compose puts in a message's header.
type header struct {
	from      *mail.Address
	to        []*mail.Address
	subject   string
	date      time.Time
	messageID string
	inReplyTo string
}

// compose renders the message (RFC 5322, MIME) with CRLF line ends: a
// multipart/alternative of text/plain and text/html when html is set, a
// single text/plain part otherwise. Every body is UTF-8 in
// quoted-printable, so the message is 7-bit whatever the text and any
// server takes it; header values that are not ASCII are RFC 2047 encoded
// words, and long header lines are folded.
func compose(h header, text, html string) []byte {
	var b bytes.Buffer
	writeHeader(&b, "From", h.from.String())
	to := make([]string, len(h.to))
	for i, a := range h.to {
		to[i] = a.String()
	}
	writeHeader(&b, "To", strings.Join(to, ", "))
	writeHeader(&b, "Subject", mime.QEncoding.Encode("utf-8", h.subject))
	writeHeader(&b, "Date", h.date.Format(time.RFC1123Z))
	writeHeader(&b, "Message-ID", h.messageID)
	if h.inReplyTo != "" {
		writeHeader(&b, "In-Reply-To", h.inReplyTo)
		writeHeader(&b, "References", h.inReplyTo)
	}
	// RFC 3834: no vacation replies or other auto-responses to this.
	writeHeader(&b, "Auto-Submitted", "auto-generated")
	writeHeader(&b, "MIME-Version", "1.0")
	if html == "" {
		writeHeader(&b, "Content-Type", "text/plain; charset=utf-8")
		writeHeader(&b, "Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, text)
		// The body's last line ends like every other (DATA needs it).
		if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
			b.WriteString("\r\n")
		}
		return b.Bytes()
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	writeHeader(&b, "Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	// The parts in increasing order of preference (RFC 2046 5.1.4): a
	// client that shows HTML takes the last.
	for _, p := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		// Writes to a bytes.Buffer do not fail.
		w, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		writeQP(w, p.body)
	}
	_ = mw.Close()
	b.Write(body.Bytes())
	return b.Bytes()
}

func writeQP(w interface{ Write([]byte) (int, error) }, s string) {
	qp := quotedprintable.NewWriter(w)
	_, _ = qp.Write([]byte(s))
	_ = qp.Close()
}

// maxLine is the length header lines are folded at when they can be (RFC
// 5322 2.1.1 recommends 78).
const maxLine = 78

// writeHeader writes "name: value" folded before a space where a line would
// pass maxLine. value must not hold CR or LF: every caller passes encoded
// words, parsed addresses, dates and checked message ids.
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteString(":")
	n := len(name) + 1
	for i, w := range strings.Split(value, " ") {
		if i > 0 && w != "" && n+1+len(w) > maxLine {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		n += 1 + len(w)
	}
	b.WriteString("\r\n")
}

// messageID is the Message-ID of the message with id: <id@domain>, with
// every character that may not stand in the left part of a msg-id (RFC
// 5322 3.6.4: dot-atom-text) written %XX, '%' included, so that two ids
// never give the same Message-ID.
func messageID(id, domain string) (string, error) {
	if id == "" {
		return "", errors.New("email: the message has no ID to derive its Message-ID from")
	}
	var b strings.Builder
	b.WriteByte('<')
	for i := 0; i < len(id); i++ {
		c := id[i]
		dot := c == '.' && i > 0 && i < len(id)-1 && id[i-1] != '.'
		if (isAtext(c) && c != '%') || dot {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	b.WriteString("@" + domain + ">")
	return b.String(), nil
}

// threadRef checks a thread reference (a Message-ID from an earlier Receipt)
// and returns it in its <…> form.
func threadRef(ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", nil
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(ref, "<"), ">")
	at := strings.LastIndexByte(inner, '@')
	if len(inner) > 900 || at < 1 || !isDotAtom(inner[:at]) || !isDotAtom(inner[at+1:]) {
		return "", fmt.Errorf("email: thread reference %q is not a Message-ID", ref)
	}
	return "<" + inner + ">", nil
}

// isDotAtom says whether s is RFC 5322 dot-atom-text.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext(s[i]) {
			return false
		}
	}
	return true
}

// isAtext says whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}
