package report

import (
	"cmp"
	"math/bits"
	"math/rand/v2"
	"slices"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
)

// Sample keeps n of the report's changes, chosen at random from seed, in
// position order, and records how many there were and the seed. The choice
// depends on the number of changes, n and seed alone (a partial
// Fisher–Yates shuffle driven by a PCG seeded with seed, both fixed here
// rather than left to the standard library's helpers), so an auditor who
// asks again with the same seed gets the same sample. The summary, the
// emergencies and the freeze overrides still describe the whole period.
// With n <= 0, or n at least the number of changes, the report is unchanged.
func Sample(r *changev1.ComplianceReport, n int, seed int64) {
	total := len(r.GetChanges())
	if n <= 0 || n >= total {
		return
	}
	src := rand.NewPCG(uint64(seed), 0x666c6f65) // "floe"
	idx := make([]int, total)
	for i := range idx {
		idx[i] = i
	}
	for i := range n {
		j := i + int(below(src, uint64(total-i)))
		idx[i], idx[j] = idx[j], idx[i]
	}
	kept := make([]*changev1.ReportedChange, 0, n)
	for _, i := range idx[:n] {
		kept = append(kept, r.Changes[i])
	}
	slices.SortStableFunc(kept, func(x, y *changev1.ReportedChange) int { return cmp.Compare(x.GetPosition(), y.GetPosition()) })
	r.Changes, r.SampledFrom, r.Seed = kept, uint32(total), seed
}

// below is a uniform number in [0, n) (Lemire's multiply-and-reject).
func below(src *rand.PCG, n uint64) uint64 {
	threshold := -n % n
	for {
		hi, lo := bits.Mul64(src.Uint64(), n)
		if lo >= threshold {
			return hi
		}
	}
}
