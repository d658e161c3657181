package change

import "slices"

// match assigns approvals to requirements so that as many requirements as
// possible are met, each by a different approval whose role the
// requirement accepts. It returns, per requirement, the index of the
// approval meeting it, or -1.
//
// A greedy assignment is not enough once requirements overlap: with
// requirements [operations or security] and [operations], approvals given
// as operations then security meet both only if the operations approval is
// moved to the second requirement. This is the augmenting-path (Kuhn)
// algorithm; a change has a handful of approvals, so its cost is nothing.
func match(reqs []Requirement, as []string) []int {
	owner := make([]int, len(reqs)) // requirement → approval
	for j := range owner {
		owner[j] = -1
	}
	for i := range as {
		seen := make([]bool, len(reqs))
		augment(reqs, as, owner, seen, i)
	}
	return owner
}

// augment tries to give approval i a requirement, moving earlier approvals
// to other requirements they also meet when needed.
func augment(reqs []Requirement, as []string, owner []int, seen []bool, i int) bool {
	for j, r := range reqs {
		if seen[j] || !slices.Contains(r.AnyOf, as[i]) {
			continue
		}
		seen[j] = true
		if owner[j] < 0 || augment(reqs, as, owner, seen, owner[j]) {
			owner[j] = i
			return true
		}
	}
	return false
}

// met counts the requirements of an assignment that are met.
func met(owner []int) int {
	n := 0
	for _, o := range owner {
		if o >= 0 {
			n++
		}
	}
	return n
}

// open describes the requirements an assignment leaves unmet, one entry
// each, with every role whose approval would meet it: the roles of the
// unmet requirement itself and of every requirement whose approval could
// move there to make room (an alternating path). With [operations or
// security] met by an operations approval and [operations] open, a
// security approval would do too, so the entry reads "operations or
// security", not just "operations".
func open(reqs []Requirement, as []string) []Requirement {
	owner := match(reqs, as)
	var out []Requirement
	for j, o := range owner {
		if o >= 0 {
			continue
		}
		reach := make([]bool, len(reqs))
		reach[j] = true
		for grew := true; grew; {
			grew = false
			for k, ok := range owner {
				if reach[k] || ok < 0 {
					continue
				}
				for m := range reqs {
					if reach[m] && slices.Contains(reqs[m].AnyOf, as[ok]) {
						reach[k], grew = true, true
						break
					}
				}
			}
		}
		var roles []string
		for k, r := range reqs {
			if !reach[k] {
				continue
			}
			for _, role := range r.AnyOf {
				if !slices.Contains(roles, role) {
					roles = append(roles, role)
				}
			}
		}
		out = append(out, Requirement{AnyOf: roles})
	}
	return out
}
