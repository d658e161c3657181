package domain_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// t0 is the fake clock's origin; every time in these tests is t0 + n seconds.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// sec is the time n seconds after t0.
func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// val is a sample of value v at t0+n s; gap one with no data at t0+n s.
func val(n int, v float64) domain.Sample { return domain.Sample{At: sec(n), Value: v} }
func gap(n int) domain.Sample            { return domain.Sample{At: sec(n), NoData: true} }

// every returns samples of value v at t0+from, from+step, ... up to t0+to s.
func every(from, to, step int, v float64) []domain.Sample {
	var out []domain.Sample
	for n := from; n <= to; n += step {
		out = append(out, val(n, v))
	}
	return out
}

// gaps returns no-data samples at t0+from, from+step, ... up to t0+to s.
func gaps(from, to, step int) []domain.Sample {
	var out []domain.Sample
	for n := from; n <= to; n += step {
		out = append(out, gap(n))
	}
	return out
}

func concat(parts ...[]domain.Sample) []domain.Sample {
	var out []domain.Sample
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// errorRate is the guide's default error_rate trigger (> 0.10 for 300 s →
// rollback, cooldown 60 min, no data held).
func errorRate() domain.Trigger { return domain.DefaultTriggers()[0] }

func violations(t *testing.T, err error) []errs.FieldViolation {
	t.Helper()
	if err == nil {
		return nil
	}
	var ia *errs.InvalidArgumentError
	if !errors.As(err, &ia) {
		t.Fatalf("error %T %v, want *errs.InvalidArgumentError", err, err)
	}
	return ia.Violations
}

var nan = math.NaN()
