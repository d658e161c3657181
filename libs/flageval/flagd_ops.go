package flageval

// flagd's custom operators, as in flagd core/pkg/evaluator: fractional.go,
// semver.go and string_comparison.go. They receive their arguments already
// evaluated (jsonlogic.AddOperator wraps them in parseValues) and return
// null on any problem.

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"strings"
)

const maxWeightSum = math.MaxInt32

// fractional: deterministic weighted bucketing. The bucketing value is the
// first argument when it evaluates to a string, otherwise flag key +
// targeting key; it is hashed with 32-bit murmur3 (seed 0) and mapped to
// bucket = hash * totalWeight >> 32; the first variant whose cumulative
// weight exceeds the bucket wins.
func (e *evaluator) fractional(n *node, args []any, isList bool, data any) any {
	var ft *FractionalTrace
	if e.trace != nil {
		ft = &FractionalTrace{}
		defer func() { e.recordFractional(n, ft) }()
	}
	why := func(msg string) any {
		if ft != nil {
			ft.Problem = msg
		}
		return nil
	}

	if !isList {
		return why("fractional evaluation data is not an array")
	}
	if len(args) < 1 {
		return why("fractional evaluation data must contain at least one distribution")
	}

	var flagKey string
	var tkVal any
	tkSet := false // the targeting key is a non-empty string, in tk
	var tk string
	switch d := data.(type) {
	case *rootData:
		flagKey = d.flagKey
		if d.tk != "" {
			tk, tkSet = d.tk, true
		} else {
			tkVal = d.attrs["targetingKey"]
		}
	case map[string]any:
		flagKey = flagKeyOf(d)
		tkVal = d["targetingKey"]
	default:
		return why("data is not an object")
	}

	var bucketBy string
	custom := false
	if s, ok := args[0].(string); ok {
		bucketBy = s
		custom = true
		args = args[1:]
	} else {
		if args[0] == nil {
			args = args[1:]
		}
		if !tkSet {
			if tkVal == nil {
				return why("no bucketing value and no targetingKey in the context")
			}
			var ok bool
			tk, ok = tkVal.(string)
			if !ok {
				return why("bucketing value not supplied and the targetingKey is not a string")
			}
			if tk == "" {
				return why("no bucketing value and the targetingKey is empty")
			}
		}
	}

	// Validate the distribution and sum the weights.
	var total int64
	for _, d := range args {
		w, ok := bucketWeight(d)
		if !ok {
			return why("invalid distribution: " + bucketProblem(d))
		}
		total += w
	}
	if total > maxWeightSum {
		return why(fmt.Sprintf("sum of all weights (%d) exceeds maximum allowed value (%d)", total, maxWeightSum))
	}

	var hash uint32
	if custom {
		hash = murmur3Sum32(bucketBy)
	} else {
		hash = hashConcat(flagKey, tk)
	}
	if ft != nil {
		ft.CustomBucketing = custom
		if custom {
			ft.BucketingValue = bucketBy
		} else {
			ft.BucketingValue = flagKey + tk
		}
		ft.Hash = hash
		ft.TotalWeight = total
		for _, d := range args {
			w, _ := bucketWeight(d)
			b := FractionalBucket{Variant: d.([]any)[0], Weight: w}
			if total > 0 {
				b.Percent = 100 * float64(w) / float64(total)
			}
			ft.Buckets = append(ft.Buckets, b)
		}
	}
	if total == 0 {
		return why("the weights sum to 0")
	}

	bucket := (uint64(hash) * uint64(total)) >> 32
	if ft != nil {
		ft.Bucket = bucket
	}
	var end uint64
	for _, d := range args {
		w, _ := bucketWeight(d)
		end += uint64(w)
		if bucket < end {
			v := d.([]any)[0]
			if ft != nil {
				ft.Variant = v
				ft.Selected = true
			}
			return v
		}
	}
	return nil // unreachable
}

// hashConcat is murmur3Sum32(flagKey + tk) without allocating for
// ordinary key lengths.
func hashConcat(flagKey, tk string) uint32 {
	var buf [256]byte
	if len(flagKey)+len(tk) <= len(buf) {
		return murmur3Sum32(append(append(buf[:0], flagKey...), tk...))
	}
	return murmur3Sum32(flagKey + tk)
}

// murmur3Sum32 is MurmurHash3 x86 32-bit with seed 0, the hash flagd uses
// (github.com/twmb/murmur3 StringSum32). It is implemented here because
// github.com/spaolacci/murmur3 v1.1.0 does pointer arithmetic that Go's
// checkptr (enabled by -race) rejects; murmur3_test.go checks both agree.
func murmur3Sum32[T ~string | ~[]byte](data T) uint32 {
	const (
		c1 = 0xcc9e2d51
		c2 = 0x1b873593
	)
	var h uint32
	n := len(data)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch n - i {
	case 3:
		k ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[i])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// bucketWeight validates one [variant, weight] entry like
// parseFractionalEvaluationDistributions and returns its weight.
func bucketWeight(d any) (int64, bool) {
	da, ok := d.([]any)
	if !ok || len(da) == 0 {
		return 0, false
	}
	switch da[0].(type) {
	case string, bool, float64, nil:
	default:
		return 0, false
	}
	w := int64(1)
	if len(da) >= 2 {
		f, ok := da[1].(float64)
		if !ok && da[1] != nil {
			return 0, false
		}
		if ok {
			w = int64(f)
			if f != float64(w) {
				return 0, false
			}
		}
	}
	if w > math.MaxInt32 {
		return 0, false
	}
	if w < 0 {
		w = 0 // negative weights are clamped to 0
	}
	return w, true
}

func bucketProblem(d any) string {
	da, ok := d.([]any)
	switch {
	case !ok:
		return "a distribution element is not an array"
	case len(da) == 0:
		return "a distribution element is empty"
	}
	switch da[0].(type) {
	case string, bool, float64, nil:
	default:
		return "a variant must be a string, bool, number or null"
	}
	return "a weight must be an integer between 0 and 2147483647"
}

// flagKeyOf reads $flagd.flagKey from a data object that is not the
// top-level context (inside map, filter, ...), exactly like flagd's
// getFlagdProperties: a JSON round trip into a struct, or nothing.
func flagKeyOf(m map[string]any) string {
	p, ok := m["$flagd"]
	if !ok {
		return ""
	}
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	var props struct {
		FlagKey   string `json:"flagKey"`
		Timestamp int64  `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &props); err != nil {
		return ""
	}
	return props.FlagKey
}

// semVerOp is flagd's sem_ver: [version, operator, version] → bool, or null
// when an argument is not a valid version or the operator is unknown.
// Versions are compared with golang.org/x/mod/semver after a leading "v" is
// added ("V" is replaced), so "1", "1.2" and "v1.2.3" are accepted.
func semVerOp(l []any, isList bool) any {
	if !isList || len(l) != 3 {
		return nil
	}
	v1, ok := flagdVersion(l[0])
	if !ok {
		return nil
	}
	op, ok := l[1].(string)
	if !ok {
		return nil
	}
	v2, ok := flagdVersion(l[2])
	if !ok {
		return nil
	}
	switch op {
	case "=":
		return compareSemver(v1, v2) == 0
	case "!=":
		return compareSemver(v1, v2) != 0
	case "<":
		return compareSemver(v1, v2) < 0
	case "<=":
		return compareSemver(v1, v2) <= 0
	case ">":
		return compareSemver(v1, v2) > 0
	case ">=":
		return compareSemver(v1, v2) >= 0
	case "^":
		return v1.major == v2.major
	case "~":
		return v1.major == v2.major && v1.minor == v2.minor
	}
	return nil
}

// flagdVersion is flagd's normalizeVersion followed by semver.IsValid.
func flagdVersion(v any) (semver, bool) {
	s, ok := v.(string)
	if !ok {
		s = fmt.Sprint(v) // flagd: fmt.Sprintf("%v", v)
	}
	// flagd prefixes "v" unless present, after dropping a "V"; parse what
	// follows that "v".
	if strings.HasPrefix(s, "v") || strings.HasPrefix(s, "V") {
		s = s[1:]
	}
	return parseSemverBody(s)
}

// stringCompareOp is flagd's starts_with / ends_with.
func stringCompareOp(prefix bool, l []any, isList bool) any {
	if !isList || len(l) != 2 {
		return nil
	}
	s, ok := l[0].(string)
	if !ok {
		return nil
	}
	t, ok := l[1].(string)
	if !ok {
		return nil
	}
	if prefix {
		return strings.HasPrefix(s, t)
	}
	return strings.HasSuffix(s, t)
}

// jsonEncode is what flagd's json.Encoder writes for the targeting output
// (HTML escaping on), without the trailing newline.
func jsonEncode(v any) ([]byte, error) {
	return json.Marshal(v)
}
