package report_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/report"
)

// population is a report of n changes at positions 10, 20, …
func population(n int) *changev1.ComplianceReport {
	r := &changev1.ComplianceReport{Summary: &changev1.ReportSummary{Deployments: uint32(n)}}
	for i := range n {
		r.Changes = append(r.Changes, &changev1.ReportedChange{DeploymentId: "d", Position: uint64(10 * (i + 1))})
	}
	return r
}

func TestSample(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		total int
		n     int
		seed  int64
		// want: the positions kept, pinned so that the same seed keeps
		// choosing the same changes release after release.
		want []uint64
	}{
		{name: "25 of 60", total: 60, n: 25, seed: 42},
		{name: "one", total: 60, n: 1, seed: 7},
		{name: "all but one", total: 5, n: 4, seed: -3},
		{name: "pinned", total: 10, n: 3, seed: 2026, want: pinned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			all := positions(population(tt.total).GetChanges())
			r := population(tt.total)
			report.Sample(r, tt.n, tt.seed)
			got := positions(r.GetChanges())
			if len(got) != tt.n {
				t.Fatalf("kept %d changes, want %d", len(got), tt.n)
			}
			if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("kept %v: not in position order, or repeated", got)
			}
			for _, p := range got {
				if !slices.Contains(all, p) {
					t.Errorf("kept %d, which was not in the report", p)
				}
			}
			if r.GetSampledFrom() != uint32(tt.total) || r.GetSeed() != tt.seed {
				t.Errorf("sampled_from, seed = %d, %d, want %d, %d", r.GetSampledFrom(), r.GetSeed(), tt.total, tt.seed)
			}
			if r.GetSummary().GetDeployments() != uint32(tt.total) {
				t.Errorf("summary changed: %v", r.GetSummary())
			}
			again := population(tt.total)
			report.Sample(again, tt.n, tt.seed)
			if diff := cmp.Diff(got, positions(again.GetChanges())); diff != "" {
				t.Errorf("the same seed chose differently (-first +second):\n%s", diff)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("kept (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// pinned is what seed 2026 keeps of 10 changes.
var pinned = []uint64{10, 40, 70}

func TestSampleSeedsDiffer(t *testing.T) {
	t.Parallel()
	chosen := map[string]bool{}
	for seed := range int64(10) {
		r := population(60)
		report.Sample(r, 25, seed)
		chosen[fmt.Sprint(positions(r.GetChanges()))] = true
	}
	if len(chosen) < 9 {
		t.Errorf("10 seeds chose %d different samples of 25 of 60", len(chosen))
	}
}

func TestSampleUnchanged(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, 0, 5, 6} {
		r := population(5)
		want := proto.Clone(r)
		report.Sample(r, n, 1)
		if diff := cmp.Diff(want, r, protocmp.Transform()); diff != "" {
			t.Errorf("Sample(n=%d) changed a report of 5 (-want +got):\n%s", n, diff)
		}
	}
}
