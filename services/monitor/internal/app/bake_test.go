package app_test

import (
	"testing"
	"time"

	"github.com/penguinmails/floe/services/monitor/internal/app"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// The bake of an environment: set, off, or (auto) the longest enabled
// rollback trigger plus one interval, so that every trigger can fire in it.
func TestBakeFor(t *testing.T) {
	triggers := domain.DefaultTriggers() // error_rate 300 s → rollback; response_time_p95 180 s → alert
	off := triggers[0]
	off.Enabled = false
	cfg := app.Config{Interval: 15 * time.Second, Bake: map[string]time.Duration{"staging": 2 * time.Minute, "dr": 0}, BakeAuto: []string{"production", "dr"}}
	for _, tc := range []struct {
		env      string
		triggers []domain.Trigger
		want     time.Duration
	}{
		{"production", triggers, 315 * time.Second},
		{"production", []domain.Trigger{off, triggers[1]}, 0}, // no rollback trigger in force: nothing to bake for
		{"staging", triggers, 2 * time.Minute},
		{"dr", triggers, 0}, // set to 0: off, auto or not
		{"development", triggers, 0},
	} {
		if got := cfg.BakeFor(tc.env, tc.triggers); got != tc.want {
			t.Errorf("BakeFor(%s) = %v, want %v", tc.env, got, tc.want)
		}
	}
}
