package episode_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// protoRoot is the repository's proto/floe, from this package's directory.
const protoRoot = "../../../../proto/floe"

// eventTypes are the event messages (those declaring an aggregate) of every
// floe/<domain>/v1/events.proto linked into the test binary.
func eventTypes(t *testing.T) []string {
	t.Helper()
	var out []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		p := fd.Path()
		if !strings.HasPrefix(p, "floe/") || filepath.Base(p) != "events.proto" {
			return true
		}
		msgs := fd.Messages()
		for i := range msgs.Len() {
			md := msgs.Get(i)
			mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
			if err != nil {
				t.Fatalf("%s: %v", md.FullName(), err)
			}
			if eventstore.AggregateOf(mt.Zero().Interface()) != "" {
				out = append(out, string(md.FullName()))
			}
		}
		return true
	})
	slices.Sort(out)
	return out
}

// TestEveryEventsProtoIsLinked: a new proto/floe/<domain>/v1/events.proto
// must be imported here (and its events decided on), or the notifier would
// silently not know them.
func TestEveryEventsProtoIsLinked(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(protoRoot, "*", "v1", "events.proto"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 7 {
		t.Fatalf("found %d events.proto files under %s; the repository layout changed?", len(files), protoRoot)
	}
	for _, f := range files {
		rel, err := filepath.Rel(filepath.Dir(protoRoot), f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := protoregistry.GlobalFiles.FindFileByPath(filepath.ToSlash(rel)); err != nil {
			t.Errorf("%s is not linked into the episode package: import its generated package and put each of its events in Types or Ignored", rel)
		}
	}
}

// TestEveryEventTypeIsDecided: every event type is notifiable (Types) or
// deliberately not (Ignored, with a reason), never both, and both lists name
// only event types.
func TestEveryEventTypeIsDecided(t *testing.T) {
	t.Parallel()
	all := eventTypes(t)
	if len(all) < 60 {
		t.Fatalf("found only %d event types; are the generated packages linked?", len(all))
	}
	decided := map[string]string{}
	for _, ti := range episode.Types() {
		decided[ti.Type] = "Types"
		if ti.Description == "" || ti.Episode == "" || ti.Severity == "" {
			t.Errorf("%s: TypeInfo needs a description, an episode and a severity rule: %+v", ti.Type, ti)
		}
	}
	for _, ig := range episode.Ignored() {
		if where, dup := decided[ig.Type]; dup {
			t.Errorf("%s is in both %s and Ignored", ig.Type, where)
		}
		decided[ig.Type] = "Ignored"
		if strings.TrimSpace(ig.Reason) == "" {
			t.Errorf("%s is ignored without a reason", ig.Type)
		}
	}
	for _, typ := range all {
		if _, ok := decided[typ]; !ok {
			t.Errorf("%s is a new event type: decide whether people are told of it (Types) or not (Ignored, with the reason)", typ)
		}
	}
	for typ, where := range decided {
		if !slices.Contains(all, typ) {
			t.Errorf("%s lists %s, which is no event type of an events.proto", where, typ)
		}
	}
}

// TestResolvedBy: what TypeInfo says resolves an episode is a notifiable
// type that resolves, and what it says ends one is a final type.
func TestResolvedBy(t *testing.T) {
	t.Parallel()
	byType := map[string]episode.TypeInfo{}
	for _, ti := range episode.Types() {
		byType[ti.Type] = ti
	}
	for _, ti := range episode.Types() {
		for _, r := range ti.ResolvedBy {
			if res, ok := byType[r]; !ok || !res.Resolves {
				t.Errorf("%s is resolved by %s, which is not a notifiable type that resolves", ti.Type, r)
			}
		}
		for _, r := range ti.EndedBy {
			if end, ok := byType[r]; !ok || end.Kind != episode.KindFinal {
				t.Errorf("%s is ended by %s, which is not a notifiable final type", ti.Type, r)
			}
		}
	}
}

// kindWord finds the kinds a TypeInfo.Kind or a README cell names.
var kindWord = regexp.MustCompile(`\b(episode|notice|final)\b`)

// kindsIn returns the kinds s names, in order.
func kindsIn(s string) []string {
	var out []string
	for _, m := range kindWord.FindAllString(s, -1) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// kindOf is the kind of a mapped event.
func kindOf(e routing.Event) string {
	switch {
	case e.Notice:
		return episode.KindNotice
	case e.Final:
		return episode.KindFinal
	}
	return episode.KindEpisode
}

// TestKinds: every notifiable type says what its events do to their
// episode; a notice or a final type resolves nothing and is resolved by
// nothing; and an episode's event that fires has a type that resolves or
// ends its episode, so that routing does not repeat it for ever.
func TestKinds(t *testing.T) {
	t.Parallel()
	for _, ti := range episode.Types() {
		kinds := kindsIn(ti.Kind)
		if len(kinds) == 0 || !strings.HasPrefix(ti.Kind, kinds[0]) {
			t.Errorf("%s: kind %q does not begin with episode, notice or final", ti.Type, ti.Kind)
			continue
		}
		if !slices.Contains(kinds, episode.KindEpisode) && (ti.Resolves || len(ti.ResolvedBy) > 0 || len(ti.EndedBy) > 0) {
			t.Errorf("%s is a %s: it resolves nothing and nothing resolves or ends it: %+v", ti.Type, ti.Kind, ti)
		}
		if ti.Kind == episode.KindEpisode && !ti.Resolves && len(ti.ResolvedBy)+len(ti.EndedBy) == 0 {
			t.Errorf("%s fires and nothing resolves or ends its episode: make it a notice or a final event, or name what ends it", ti.Type)
		}
	}
}

// TestMapHandlesEveryType: every notifiable type maps an empty body without
// panicking, to a valid event or an ErrNoEpisode, and every ignored type is
// not told.
func TestMapHandlesEveryType(t *testing.T) {
	t.Parallel()
	for _, ti := range episode.Types() {
		ev := &eventstore.RecordedEvent{Type: ti.Type, AggregateID: "production", Data: []byte(`{}`)}
		e, ok, err := episode.Map(ev)
		switch {
		case err != nil && ok:
			t.Errorf("%s: ok with an error", ti.Type)
		case ok:
			if err := e.Validate(); err != nil {
				t.Errorf("%s: routing rejects %+v: %v", ti.Type, e, err)
			}
		}
	}
	for _, ig := range episode.Ignored() {
		if e, ok, err := episode.Map(&eventstore.RecordedEvent{Type: ig.Type, AggregateID: "x", Data: []byte(`{}`)}); ok || err != nil {
			t.Errorf("%s is ignored but maps to %+v, %v, %v", ig.Type, e, ok, err)
		}
	}
}

// TestREADMETable: every notifiable type is in the README's table, and the
// kind column of its rows says what its TypeInfo.Kind does.
func TestREADMETable(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## Events the notifier tells of")
	if !ok {
		t.Fatal(`README.md has no section "Events the notifier tells of"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var header []string
	var rows [][]string
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header == nil {
			header = cells
			continue
		}
		rows = append(rows, cells)
	}
	kindCol := slices.Index(header, "kind")
	if kindCol < 0 {
		t.Fatalf("README.md: the table has no kind column: %q", header)
	}
	for _, ti := range episode.Types() {
		name := ti.Type[strings.LastIndex(ti.Type, ".")+1:]
		var kinds []string
		for _, r := range rows {
			if len(r) != len(header) {
				t.Fatalf("README.md: row %q does not have the header's %d cells", r, len(header))
			}
			if strings.Contains(r[0], "`"+name+"`") || strings.Contains(r[0], "."+name+"`") {
				for _, k := range kindsIn(r[kindCol]) {
					if !slices.Contains(kinds, k) {
						kinds = append(kinds, k)
					}
				}
			}
		}
		if kinds == nil {
			t.Errorf("README.md: %s is notifiable but not in the table", ti.Type)
			continue
		}
		slices.Sort(kinds)
		want := kindsIn(ti.Kind)
		slices.Sort(want)
		if !slices.Equal(kinds, want) {
			t.Errorf("README.md: the rows of %s say kind %v, TypeInfo says %q", ti.Type, kinds, ti.Kind)
		}
	}
}
