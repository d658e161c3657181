package render

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/errs"
)

// The names of the templates a Set may hold.
const (
	// KeySubject is the one-line subject (email subject, Slack header and
	// fallback, webhook subject). text/template.
	KeySubject = "subject"
	// KeyText is the plain-text body (Slack, email, webhook). text/template.
	KeyText = "text"
	// KeyHTML is the HTML body of an email. html/template.
	KeyHTML = "html"
	// KeySMS is the whole text message. text/template.
	KeySMS = "sms"
)

// Keys are the template names a Set may hold, in order.
var Keys = []string{KeySubject, KeyText, KeyHTML, KeySMS}

// Limits on user templates.
const (
	// MaxSourceBytes is the largest template source Parse accepts.
	MaxSourceBytes = 32 << 10
	// MaxOutputBytes is the most a template may write: a template writing
	// more fails (and the default is used).
	MaxOutputBytes = 64 << 10
	// MaxIterations is the most range iterations (all loops together) one
	// execution may make.
	MaxIterations = 10_000
	// MaxExecTime is the longest one execution may take, checked at every range iteration.
	MaxExecTime = time.Second
)

// Set is a compiled set of templates: some of subject, text, html and sms.
// A Set is immutable and safe for concurrent use; a nil *Set holds none
// (every message uses the defaults).
type Set struct {
	tmpls map[string]*compiled
}

// compiled is one parsed template. Its parse trees are never executed:
// every execution runs on a clone with its own functions.
type compiled struct {
	set  string // the name given to Parse, for messages
	key  string
	text *template.Template
	html *htmltemplate.Template
}

func (c *compiled) name() string { return c.set + "." + c.key }

// Has reports whether the set holds a template for key.
func (s *Set) Has(key string) bool { return s != nil && s.tmpls[key] != nil }

// Parse compiles user templates: src maps a template name (subject, text,
// html, sms) to its Go template source. name says where the templates come
// from ("receivers.ops-slack.settings.templates", "templates") and
// prefixes every problem, which is reported all at once as an
// *errs.InvalidArgumentError whose fields are "<name>.<key>" and whose
// descriptions start with the line: "line 3: function \"uper\" not defined".
//
// Besides compiling, Parse refuses a template that defines or calls named
// templates (define, block, template), is empty or over MaxSourceBytes, and
// one that fails, or writes nothing, for every sample notification
// (Samples): a misspelt field is found when the configuration loads, not
// when an incident happens.
func Parse(name string, src map[string]string) (*Set, error) {
	var v errs.Violations
	s := &Set{tmpls: map[string]*compiled{}}
	for _, key := range slices.Sorted(maps.Keys(src)) {
		field := name + "." + key
		text := src[key]
		switch {
		case !slices.Contains(Keys, key):
			v.Add(field, "is not a known template: want one of %s", strings.Join(Keys, ", "))
			continue
		case strings.TrimSpace(text) == "":
			v.Add(field, "is empty: leave it out to use the default")
			continue
		case len(text) > MaxSourceBytes:
			v.Add(field, "is %d bytes, over the limit of %d", len(text), MaxSourceBytes)
			continue
		case !utf8.ValidString(text):
			v.Add(field, "is not valid UTF-8")
			continue
		}
		c, err := compile(name, key, text)
		if err == nil {
			err = c.try()
		}
		if err != nil {
			v.Add(field, "%s", err.Error())
			continue
		}
		s.tmpls[key] = c
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// Merge returns a set holding, for each name, the template of the first
// set that has one: Merge(receiverSet, globalSet) lets a receiver's
// templates override the top-level ones. Nil sets are skipped.
func Merge(sets ...*Set) *Set {
	out := &Set{tmpls: map[string]*compiled{}}
	for _, s := range slices.Backward(sets) {
		if s != nil {
			maps.Copy(out.tmpls, s.tmpls)
		}
	}
	return out
}

// FromSettings parses the templates of a receiver's settings, the mapping
// under the key "templates" (nil when there is none).
func FromSettings(receiver string, settings map[string]any) (*Set, error) {
	raw, ok := settings["templates"]
	if !ok || raw == nil {
		return nil, nil
	}
	name := "receivers." + receiver + ".settings.templates"
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, errs.Invalid(name, "must be a mapping of template names (%s) to templates", strings.Join(Keys, ", "))
	}
	src := make(map[string]string, len(m))
	var v errs.Violations
	for k, val := range m {
		str, ok := val.(string)
		if !ok {
			v.Add(name+"."+k, "must be a string")
			continue
		}
		src[k] = str
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return Parse(name, src)
}

// compile parses one template. Its Go name is its key, so that Go's
// messages ("template: text:3: …") can be rewritten as "line 3: …".
func compile(set, key, text string) (*compiled, error) {
	c := &compiled{set: set, key: key}
	fm := funcMap(time.Time{}, time.UTC, nil)
	var tree *parse.Tree
	var count int
	if key == KeyHTML {
		t, err := htmltemplate.New(key).Funcs(htmltemplate.FuncMap(fm)).Option("missingkey=zero").Parse(text)
		if err != nil {
			return nil, tidy(key, err)
		}
		c.html, tree, count = t, t.Tree, len(t.Templates())
	} else {
		t, err := template.New(key).Funcs(fm).Option("missingkey=zero").Parse(text)
		if err != nil {
			return nil, tidy(key, err)
		}
		c.text, tree, count = t, t.Tree, len(t.Templates())
	}
	if tree == nil || tree.Root == nil {
		return nil, errors.New("is empty: leave it out to use the default")
	}
	if count > 1 {
		return nil, errors.New("defines named templates (define or block), which are not supported")
	}
	if line, ok := findTemplateCall(tree.Root); ok {
		return nil, fmt.Errorf("line %d: calls a named template, which is not supported", line)
	}
	guardRanges(tree.Root)
	return c, nil
}

// try executes the template on every sample notification and reports the
// first problem when it fails, or writes nothing, on all of them.
func (c *compiled) try() error {
	var first error
	for _, s := range Samples() {
		out, err := c.execute(NewData(s.Notification, Options{ExternalURL: sampleURL}), nil, false)
		if err == nil && strings.TrimSpace(out) != "" {
			return nil
		}
		var escErr *htmltemplate.Error
		if errors.As(err, &escErr) {
			return err // escaping is decided once, whatever the data
		}
		if err == nil {
			err = errors.New("writes nothing for any sample notification")
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// execute runs the template on d on a clone with its own functions and
// budget. With truncate (the defaults) output over MaxOutputBytes is cut
// with "…"; otherwise it is an error. Errors read "line N: …".
func (c *compiled) execute(d *Data, loc *time.Location, truncate bool) (string, error) {
	g := &guard{deadline: time.Now().Add(MaxExecTime)}
	fm := funcMap(d.Time, loc, g.step)
	w := &limitWriter{limit: MaxOutputBytes, truncate: truncate}
	var err error
	if c.html != nil {
		var t *htmltemplate.Template
		if t, err = c.html.Clone(); err == nil {
			err = t.Funcs(htmltemplate.FuncMap(fm)).Execute(w, d)
		}
	} else {
		var t *template.Template
		if t, err = c.text.Clone(); err == nil {
			err = t.Funcs(fm).Execute(w, d)
		}
	}
	if err != nil {
		if errors.Is(err, errOutputTooLarge) {
			return "", err
		}
		return "", tidy(c.key, err)
	}
	out := w.b.String()
	if w.cut {
		out = truncateBytes(out, MaxOutputBytes-len(ellipsis)) + ellipsis
	}
	return strings.ToValidUTF8(out, "\uFFFD"), nil
}

// guard counts range iterations and checks the deadline at each.
type guard struct {
	n        int
	deadline time.Time
}

func (g *guard) step() (bool, error) {
	g.n++
	if g.n > MaxIterations {
		return false, fmt.Errorf("the template loops more than %d times", MaxIterations)
	}
	if time.Now().After(g.deadline) {
		return false, fmt.Errorf("the template runs longer than %s", MaxExecTime)
	}
	return false, nil
}

var errOutputTooLarge = fmt.Errorf("the output is over %d KiB", MaxOutputBytes>>10)

// limitWriter keeps at most limit bytes: beyond, it fails (so the template
// stops) or, with truncate, drops the rest.
type limitWriter struct {
	b        strings.Builder
	limit    int
	truncate bool
	cut      bool
}

func (w *limitWriter) Write(p []byte) (int, error) {
	room := w.limit - w.b.Len()
	if len(p) <= room {
		return w.b.Write(p)
	}
	if !w.truncate {
		return 0, errOutputTooLarge
	}
	w.cut = true
	if room > 0 {
		w.b.Write(p[:room])
	}
	return len(p), nil
}

// guardRanges inserts {{if _floeStep}}{{end}} at the start of every range
// body: a call that counts the iterations and fails past MaxIterations or
// MaxExecTime, since text/template has no other way to stop a loop (a
// range over 1e12, nested ranges over every label). It writes nothing, so
// html/template's escaping is unaffected. The nodes carry no tree, so an
// error points at the range in the user's template.
func guardRanges(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.RangeNode:
			guardRanges(n.List)
			guardRanges(n.ElseList)
			id := parse.NewIdentifier(stepFunc).SetPos(n.Pos)
			cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{id}}
			pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: n.Pos, Line: n.Line, Cmds: []*parse.CommandNode{cmd}}
			check := &parse.IfNode{BranchNode: parse.BranchNode{
				NodeType: parse.NodeIf, Pos: n.Pos, Line: n.Line, Pipe: pipe,
				List: &parse.ListNode{NodeType: parse.NodeList, Pos: n.Pos},
			}}
			if n.List == nil {
				n.List = &parse.ListNode{NodeType: parse.NodeList, Pos: n.Pos}
			}
			n.List.Nodes = append([]parse.Node{check}, n.List.Nodes...)
		case *parse.IfNode:
			guardRanges(n.List)
			guardRanges(n.ElseList)
		case *parse.WithNode:
			guardRanges(n.List)
			guardRanges(n.ElseList)
		}
	}
}

// findTemplateCall finds a {{template}} action and returns its line.
func findTemplateCall(l *parse.ListNode) (int, bool) {
	if l == nil {
		return 0, false
	}
	for _, n := range l.Nodes {
		var lists []*parse.ListNode
		switch n := n.(type) {
		case *parse.TemplateNode:
			return n.Line, true
		case *parse.RangeNode:
			lists = []*parse.ListNode{n.List, n.ElseList}
		case *parse.IfNode:
			lists = []*parse.ListNode{n.List, n.ElseList}
		case *parse.WithNode:
			lists = []*parse.ListNode{n.List, n.ElseList}
		}
		for _, sub := range lists {
			if line, ok := findTemplateCall(sub); ok {
				return line, true
			}
		}
	}
	return 0, false
}

// goError matches text/template's and html/template's messages:
// "template: text:3: …", "template: text:3:14: executing \"text\" at <.X>: …",
// "html/template:html:3:14: …".
var goError = regexp.MustCompile(`^(?:html/)?template: ?([^:]*):(\d+)(?::\d+)?: (?s:(.*))$`)

// executing is the part of an execution error naming the template: the line says as much.
var executing = regexp.MustCompile(`^executing "[^"]*" at <`)

// templateError is a Go template error rewritten for people: "line 3: …".
type templateError struct {
	msg   string
	cause error
}

func (e *templateError) Error() string { return e.msg }
func (e *templateError) Unwrap() error { return e.cause }

// tidy rewrites a Go template error as "line N: what", dropping the Go
// template name (the key, which the caller reports).
func tidy(key string, err error) error {
	msg := err.Error()
	m := goError.FindStringSubmatch(msg)
	if m == nil || m[1] != key {
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "template: "), "html/template:")
		return &templateError{msg: strings.TrimPrefix(msg, key+": "), cause: err}
	}
	what := m[3]
	if loc := executing.FindStringIndex(what); loc != nil {
		what = "at <" + what[loc[1]:]
	}
	what = strings.Replace(what, "at <"+stepFunc+">: error calling "+stepFunc+": ", "", 1)
	line, _ := strconv.Atoi(m[2])
	return &templateError{msg: fmt.Sprintf("line %d: %s", line, what), cause: err}
}
