package projection_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/projection/projectiontest"
)

// account is the test aggregate: its events are StringValues (entries).
type account struct {
	ID      string   `json:"id"`
	Entries []string `json:"entries"`
}

var accountKind = kernel.Kind[*account]{
	Name: "account",
	New:  func(id string) *account { return &account{ID: id} },
	Apply: func(a *account, e *eventstore.RecordedEvent) (*account, error) {
		var s wrapperspb.StringValue
		if err := e.DecodeInto(&s); err != nil {
			return nil, err
		}
		a.Entries = append(a.Entries, s.GetValue())
		return a, nil
	},
	Codec: kernel.Codec[*account]{Schema: "account/1"},
}

func init() {
	accountKind.Codec.Marshal = func(a *account) ([]byte, error) { return jsonMarshal(a) }
	accountKind.Codec.Unmarshal = func(b []byte) (*account, error) {
		var a account
		err := jsonUnmarshal(b, &a)
		return &a, err
	}
}

// accountsView lists accounts by id with an index on their entry count.
type accountsView struct {
	idx *projection.Index[*account]
}

func newAccountsView() (*accountsView, projection.Spec[*account]) {
	v := &accountsView{idx: projection.NewIndex(
		func(a *account) string { return a.ID },
		func(a, b *account) bool { return a.ID < b.ID },
		map[string]func(*account) []string{"size": func(a *account) []string { return []string{fmt.Sprint(len(a.Entries))} }},
	)}
	spec := projection.Aggregates("accounts", accountKind)
	spec.OnChange = func(key string, a *account, deleted bool) {
		if deleted {
			v.idx.Delete(key)
			return
		}
		// Rows change in place: index a copy, so the index's order keys never move under it.
		c := *a
		c.Entries = append([]string(nil), a.Entries...)
		v.idx.Put(&c)
	}
	spec.OnReset = v.idx.Reset
	return v, spec
}

func TestConformance(t *testing.T) {
	t.Parallel()
	projectiontest.Run(t, projectiontest.Harness[*account]{
		Aggregates: []string{"account"},
		Spec: func() projection.Spec[*account] {
			_, spec := newAccountsView()
			return spec
		},
		Append: func(t *testing.T, ctx context.Context, store eventstore.Store, round int) {
			for i := range 3 + round {
				id := fmt.Sprintf("acc%d", i)
				v, _, err := store.Head(ctx, "account", id)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := store.Append(ctx, "account", id, v, eventstore.Meta{Actor: "tester"},
					eventstore.Event{Message: wrapperspb.String(fmt.Sprintf("round %d", round))}); err != nil {
					t.Fatal(err)
				}
			}
		},
		PoisonSubject: "floe.evt.account.acc1.Deposited", PoisonType: "google.protobuf.StringValue",
		Dump: func(p *projection.Projection[*account]) any {
			// Rows as the projection holds them, sorted.
			var out []string
			for i := range 10 {
				if a, ok := p.Get(fmt.Sprintf("acc%d", i)); ok {
					out = append(out, fmt.Sprintf("%s=%v", a.ID, a.Entries))
				}
			}
			sort.Strings(out)
			return out
		},
	})
}
