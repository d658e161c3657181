package leakscan_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/leakscan"
)

func FuzzScan(f *testing.F) {
	seeds := []string{
		"", "password=hunter2", "postgres://u:p4ssw0rd@h/db", ghPAT, awsKey, jwt, floeToken, slackHook, sendgrid,
		pemHeader, "secret://x", "vault://a#b", "token: vault://kv/app#" + randomB64, randomB64,
		"9fceb02d0ae598e95dc970b74767f19372d61af8", "123e4567-e89b-12d3-a456-426614174000",
		"xoxb-", "AKIA", "://:@x", "password=\xff\xfe\xfd\xfc\xfb\xfa", "日本語 password=日本語日本語",
		strings.Repeat("a", 2000), strings.Repeat("aB3", 400), releaseNote(2000),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := leakscan.Scan(text)
		end := -1
		for _, fd := range got {
			if fd.Start < 0 || fd.End > len(text) || fd.Start >= fd.End {
				t.Fatalf("finding %+v out of bounds for %d bytes", fd, len(text))
			}
			if fd.Start < end {
				t.Fatalf("findings overlap or are unordered: %+v", got)
			}
			end = fd.End
			secret := text[fd.Start:fd.End]
			if len(secret) >= 8 && strings.Contains(fd.Description, secret) {
				t.Fatalf("Description %q contains the secret", fd.Description)
			}
			if !utf8.ValidString(fd.Description) {
				t.Fatalf("Description %q is not valid UTF-8", fd.Description)
			}
			if fd.Rule == "" || fd.Hint == "" {
				t.Fatalf("finding without rule or hint: %+v", fd)
			}
			if leakscan.IsReference(secret) {
				t.Fatalf("secret reference %q reported", secret)
			}
		}
		if leakscan.IsReference(text) && len(got) > 0 {
			t.Fatalf("Scan(reference %q) = %+v", text, got)
		}
	})
}
