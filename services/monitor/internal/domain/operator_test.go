package domain_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

func TestParseOperator(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    domain.Operator
		wantErr bool
	}{
		{in: ">", want: domain.OpGreater},
		{in: "<", want: domain.OpLess},
		{in: ">=", want: domain.OpGreaterEqual},
		{in: "<=", want: domain.OpLessEqual},
		{in: "==", want: domain.OpEqual},
		{in: "!=", want: domain.OpNotEqual},
		{in: "", wantErr: true},
		{in: "=", wantErr: true},
		{in: "=>", wantErr: true},
		{in: "=<", wantErr: true},
		{in: "<>", wantErr: true},
		{in: ">>", wantErr: true},
		{in: " >", wantErr: true},
		{in: "> ", wantErr: true},
		{in: "gt", wantErr: true},
		{in: "≥", wantErr: true},
	}
	for _, tt := range tests {
		t.Run("parse "+tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := domain.ParseOperator(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseOperator(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseOperator(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got.Valid() == tt.wantErr {
				t.Errorf("%q.Valid() = %v", got, got.Valid())
			}
		})
	}
}

func TestOperatorsListsAll(t *testing.T) {
	t.Parallel()
	want := []domain.Operator{">", "<", ">=", "<=", "==", "!="}
	if diff := cmp.Diff(want, domain.Operators()); diff != "" {
		t.Errorf("Operators() (-want +got):\n%s", diff)
	}
}

func TestOperatorHolds(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	negZero := math.Copysign(0, -1)
	tests := []struct {
		name             string
		op               domain.Operator
		value, threshold float64
		want             bool
	}{
		{"> above", ">", 0.11, 0.10, true},
		{"> equal", ">", 0.10, 0.10, false},
		{"> below", ">", 0.09, 0.10, false},
		{"< below", "<", 0.09, 0.10, true},
		{"< equal", "<", 0.10, 0.10, false},
		{"< above", "<", 0.11, 0.10, false},
		{">= above", ">=", 5.5, 5, true},
		{">= equal", ">=", 5, 5, true},
		{">= below", ">=", 4.9, 5, false},
		{"<= below", "<=", 4.9, 5, true},
		{"<= equal", "<=", 5, 5, true},
		{"<= above", "<=", 5.1, 5, false},
		{"== equal", "==", 1, 1, true},
		{"== differs", "==", 1, 1.0000001, false},
		{"== is exact, not approximate (float64 0.1+0.2)", "==", 0.30000000000000004, 0.3, false},
		{"== zero equals negative zero", "==", negZero, 0, true},
		{"!= differs", "!=", 0, 1, true},
		{"!= equal", "!=", 1, 1, false},
		{"> +Inf value", ">", inf, 0.10, true},
		{"< -Inf value", "<", -inf, 0, true},
		{"== Inf equals Inf", "==", inf, inf, true},
		{"> NaN value", ">", nan, 0.10, false},
		{"< NaN value", "<", nan, 0.10, false},
		{">= NaN value", ">=", nan, 0.10, false},
		{"<= NaN value", "<=", nan, 0.10, false},
		{"== NaN value", "==", nan, 0.10, false},
		{"!= NaN value never holds either", "!=", nan, 0.10, false},
		{"== NaN both", "==", nan, nan, false},
		{"!= NaN both", "!=", nan, nan, false},
		{"> NaN threshold", ">", 1, nan, false},
		{"!= NaN threshold", "!=", 1, nan, false},
		{"invalid operator never holds", "=", 1, 1, false},
		{"empty operator never holds", "", 2, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.op.Holds(tt.value, tt.threshold); got != tt.want {
				t.Errorf("%v %s %v = %v, want %v", tt.value, tt.op, tt.threshold, got, tt.want)
			}
		})
	}
}
