package domain

import (
	"fmt"
	"math"
)

// Operator compares a measured value with a trigger's threshold, value on the
// left: "error_rate > 0.10" holds when the measured error rate exceeds 0.10.
type Operator string

// The six operators a trigger may use.
const (
	OpGreater      Operator = ">"
	OpLess         Operator = "<"
	OpGreaterEqual Operator = ">="
	OpLessEqual    Operator = "<="
	OpEqual        Operator = "=="
	OpNotEqual     Operator = "!="
)

// Operators lists every valid operator, in a fixed order.
func Operators() []Operator {
	return []Operator{OpGreater, OpLess, OpGreaterEqual, OpLessEqual, OpEqual, OpNotEqual}
}

// ParseOperator accepts exactly one of > < >= <= == != (no surrounding space,
// no aliases such as "=" or "gt").
func ParseOperator(s string) (Operator, error) {
	switch o := Operator(s); o {
	case OpGreater, OpLess, OpGreaterEqual, OpLessEqual, OpEqual, OpNotEqual:
		return o, nil
	}
	return "", fmt.Errorf("operator %q is not one of > < >= <= == !=", s)
}

// Valid reports whether o is one of the six operators.
func (o Operator) Valid() bool {
	_, err := ParseOperator(string(o))
	return err == nil
}

// Holds reports whether "value o threshold" is true.
//
// Comparisons are exact IEEE-754 comparisons (== and != compare bit-for-bit
// values, so 0.1+0.2 == 0.3 does not hold; infinities compare as usual).
// NaN never holds, on either side and for every operator, including != (where
// IEEE would say NaN != x): a NaN is not a measurement, so it can neither
// breach nor satisfy a condition. An invalid operator never holds either.
func (o Operator) Holds(value, threshold float64) bool {
	if math.IsNaN(value) || math.IsNaN(threshold) {
		return false
	}
	switch o {
	case OpGreater:
		return value > threshold
	case OpLess:
		return value < threshold
	case OpGreaterEqual:
		return value >= threshold
	case OpLessEqual:
		return value <= threshold
	case OpEqual:
		return value == threshold
	case OpNotEqual:
		return value != threshold
	}
	return false
}
