package leakscan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/penguinmails/floe/libs/leakscan"
)

// releaseNote builds a realistic release note of about n bytes: prose,
// conventional-commit lines with SHAs, UUIDs, URLs and versions, and no
// secrets.
func releaseNote(n int) string {
	lines := []string{
		"## Features",
		"- feat(release): promote releases between environments with approvals (%s)",
		"- fix(deployer): retry the health check when the token endpoint times out, see https://github.com/penguinmails/floe/pull/%d",
		"- perf: cache the password policy lookup; deployment %s now takes 12s instead of 40s",
		"- chore(deps): bump google.golang.org/grpc from v1.84.0 to v1.85.0 (image sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)",
		"- refactor: rename TestReleaseNotesV2Handler to TestNotesHandler and move it to services/release/internal/ports",
		"Thanks to everyone who reviewed release 01ARZ3NDEKTSV4RRFFQ69G5FAV and version 2.14.0-rc.3+build.7.",
	}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		l := lines[i%len(lines)]
		switch strings.Count(l, "%") {
		case 1:
			if strings.Contains(l, "%d") {
				l = fmt.Sprintf(l, 1000+i)
			} else {
				l = fmt.Sprintf(l, fmt.Sprintf("%08x-e89b-12d3-a456-4266141740%02d", i, i%100))
			}
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()[:n]
}

func BenchmarkScanReleaseNote10KB(b *testing.B) {
	note := releaseNote(10 << 10)
	if got := leakscan.Scan(note); len(got) != 0 {
		b.Fatalf("clean note has findings: %+v", got)
	}
	b.SetBytes(int64(len(note)))
	b.ReportAllocs()
	for b.Loop() {
		leakscan.Scan(note)
	}
}

func BenchmarkScanReleaseNote10KBWithSecrets(b *testing.B) {
	note := releaseNote(10<<10) + "\npassword=hunter2 " + ghPAT + " " + awsKey + " postgres://a:b2c3d4e5@h/db " + randomB64
	if got := leakscan.Scan(note); len(got) != 5 {
		b.Fatalf("Scan found %d, want 5: %+v", len(got), got)
	}
	b.SetBytes(int64(len(note)))
	b.ReportAllocs()
	for b.Loop() {
		leakscan.Scan(note)
	}
}

// BenchmarkScanAdversarial feeds text that triggers every rule's keyword and
// long runs, to show the cost stays linear.
func BenchmarkScanAdversarial10KB(b *testing.B) {
	note := strings.Repeat("password=:// ey xox sk_live_ AIza floe_ ghp_ akia aB3dE5", 200)[:10<<10]
	b.SetBytes(int64(len(note)))
	b.ReportAllocs()
	for b.Loop() {
		leakscan.Scan(note)
	}
}
