package envpolicy_test

import (
	"slices"
	"testing"

	"github.com/penguinmails/floe/libs/envpolicy"
)

// The built-in environments require a change request in production and dr;
// a file says so per environment, and leaving it out means none.
func TestChangeRequired(t *testing.T) {
	if got := envpolicy.DefaultEnvironments().ChangeRequired(); !slices.Equal(got, []string{"production", "dr"}) {
		t.Errorf("built in: %v, want [production dr]", got)
	}
	envs, err := envpolicy.ParseEnvironments([]byte("environments:\n  - {name: dev}\n  - {name: live, after: [dev], change_required: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := envs.ChangeRequired(); !slices.Equal(got, []string{"live"}) {
		t.Errorf("from a file: %v, want [live]", got)
	}
	if e, _ := envs.Get("dev"); e.ChangeRequired {
		t.Error("dev requires a change without saying so")
	}
}
