package leakscan

import "math"

// Entropy rule parameters; see the package doc for why each exclusion exists.
const (
	minEntropyRun    = 20   // shortest run considered
	maxEntropyRun    = 1024 // longer runs are judged on their first maxEntropyRun bytes
	entropyCap       = 4.0  // bits per character asked of long runs
	entropyFraction  = 0.85 // of log2(length), asked of short runs
	minSwitchRatio   = 0.35 // class changes per neighbouring pair
	maxWordyFraction = 0.75 // of characters in identifier words (see wordy)
)

// inRun reports base64 and base64url characters. '=' is left out: it is only
// padding in base64 but joins a key to its value in KEY=value.
func inRun(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '+' || c == '/' || c == '_' || c == '-'
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// scanEntropy appends a high-entropy finding for each qualifying run that
// does not overlap a finding of a specific rule (found so far).
func scanEntropy(text string, found []Finding) []Finding {
	specific := len(found)
	for i := 0; i < len(text); {
		if !inRun(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && inRun(text[j]) {
			j++
		}
		// Trim separators and padding so offsets frame the token itself.
		s, e := i, j
		for s < e && !isAlnum(text[s]) {
			s++
		}
		for e > s && !isAlnum(text[e-1]) {
			e--
		}
		if e-s >= minEntropyRun && !overlapsAny(found[:specific], s, e) && HighEntropy(text[s:e]) {
			found = append(found, newFinding("high-entropy", "high-entropy string", text[s:e], s, e))
		}
		i = j
	}
	return found
}

// HighEntropy reports whether a run of base64 characters looks random enough
// to be a secret under the entropy rule: at least 20 characters, not only hex
// digits and dashes, mixing upper case, lower case and digits, changing class
// often, with Shannon entropy of at least min(4.0, 0.85·log2(len)) bits.
func HighEntropy(s string) bool {
	if len(s) < minEntropyRun {
		return false
	}
	if len(s) > maxEntropyRun {
		s = s[:maxEntropyRun]
	}
	var upper, lower, digit, nonHex bool
	var counts [256]int
	switches := 0
	prev := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		counts[c]++
		class := 3
		switch {
		case c >= 'A' && c <= 'Z':
			upper, class = true, 0
			nonHex = nonHex || c > 'F'
		case c >= 'a' && c <= 'z':
			lower, class = true, 1
			nonHex = nonHex || c > 'f'
		case c >= '0' && c <= '9':
			digit, class = true, 2
		case c == '-' || c == '_':
		default:
			nonHex = true
		}
		if prev >= 0 && class != prev {
			switches++
		}
		prev = class
	}
	if !nonHex || !upper || !lower || !digit {
		return false
	}
	if float64(switches) < minSwitchRatio*float64(len(s)-1) || float64(wordy(s)) >= maxWordyFraction*float64(len(s)) {
		return false
	}
	return shannon(&counts, len(s)) >= min(entropyCap, entropyFraction*math.Log2(float64(len(s))))
}

// Shannon returns the Shannon entropy of s in bits per byte.
func Shannon(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	return shannon(&counts, len(s))
}

func shannon(counts *[256]int, n int) float64 {
	if n == 0 {
		return 0
	}
	var h float64
	fn := float64(n)
	for _, c := range counts {
		if c == 0 {
			continue
		}
		p := float64(c) / fn
		h -= p * math.Log2(p)
	}
	return h
}

// wordy counts the characters of an identifier's words: runs of three or
// more letters that are all lower case ("get"), all upper case ("HTTP"), or
// one capital and lower case ("Release"). Identifiers are mostly words
// (TestReleaseNotesV2Handler: 92%); random base64 rarely is (median 37%).
func wordy(s string) int {
	n := 0
	for i := 0; i < len(s); {
		j := i + 1
		switch {
		case isUpper(s[i]):
			for j < len(s) && isUpper(s[j]) {
				j++
			}
			if j-i == 1 {
				for j < len(s) && isLower(s[j]) {
					j++
				}
			}
		case isLower(s[i]):
			for j < len(s) && isLower(s[j]) {
				j++
			}
		default:
			i = j
			continue
		}
		if j-i >= 3 {
			n += j - i
		}
		i = j
	}
	return n
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

func overlapsAny(found []Finding, start, end int) bool {
	for _, f := range found {
		if f.Start < end && start < f.End {
			return true
		}
	}
	return false
}
