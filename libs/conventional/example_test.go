package conventional_test

import (
	"fmt"

	"github.com/penguinmails/floe/libs/conventional"
)

func ExampleParse() {
	c := conventional.Parse("feat(api)!: send an email when a product is shipped\n\nBREAKING CHANGE: the notify field is gone\nRefs: #123")
	fmt.Printf("%s %q breaking=%t %q %q\n", c.Type, c.Scope, c.Breaking, c.BreakingNote, c.Refs)
	// Output: feat "api" breaking=true "the notify field is gone" ["#123"]
}

func ExampleSuggest() {
	commits := []conventional.Commit{
		conventional.Parse("fix: reject empty names\n\nFixes #7"),
		conventional.Parse("docs: explain the release flow"),
		conventional.Parse("feat(scheduler): schedule releases"),
	}
	s, err := conventional.Suggest("v1.4.2", commits)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Next, s.Type)
	for _, r := range s.Reasons {
		fmt.Println(r)
	}
	for _, c := range s.Changes {
		fmt.Printf("%s: %s %s\n", c.Kind, c.Summary, c.Ticket)
	}
	// Output:
	// 1.5.0 minor
	// fix: reject empty names → patch
	// feat(scheduler): schedule releases → minor
	// 1.4.2 → 1.5.0 (minor)
	// bug_fix: reject empty names #7
	// feature: scheduler: schedule releases
}

func ExampleSuggest_preMajor() {
	s, _ := conventional.Suggest("0.3.4", []conventional.Commit{conventional.Parse("feat!: new config format")})
	fmt.Println(s.Next, s.Type)
	fmt.Println(s.Reasons[1])
	// Output:
	// 0.4.0 minor
	// pre-1.0.0: breaking change bumps minor, not major (release 1.0.0 deliberately)
}
