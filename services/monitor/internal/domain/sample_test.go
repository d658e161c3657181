package domain_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

func TestSampleJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sample domain.Sample
		json   string
	}{
		{"finite value", val(0, 0.125), `{"at":"2026-11-25T12:00:00Z","value":0.125}`},
		{"zero", val(0, 0), `{"at":"2026-11-25T12:00:00Z","value":0}`},
		{"large", val(0, 1e300), `{"at":"2026-11-25T12:00:00Z","value":1e+300}`},
		{"NaN", val(0, nan), `{"at":"2026-11-25T12:00:00Z","value":"NaN"}`},
		{"+Inf", val(0, math.Inf(1)), `{"at":"2026-11-25T12:00:00Z","value":"+Inf"}`},
		{"-Inf", val(0, math.Inf(-1)), `{"at":"2026-11-25T12:00:00Z","value":"-Inf"}`},
		{"no data", gap(15), `{"at":"2026-11-25T12:00:15Z","no_data":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.sample)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.json {
				t.Errorf("Marshal = %s, want %s", b, tt.json)
			}
			var back domain.Sample
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.sample, back, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSampleUnmarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		want    domain.Sample
		wantErr bool
	}{
		{name: "number in a string, as Prometheus writes it", json: `{"at":"2026-11-25T12:00:00Z","value":"0.5"}`, want: val(0, 0.5)},
		{name: "Inf without a sign", json: `{"at":"2026-11-25T12:00:00Z","value":"Inf"}`, want: val(0, math.Inf(1))},
		{name: "null value", json: `{"at":"2026-11-25T12:00:00Z","value":null}`, want: val(0, 0)},
		{name: "no data keeps no value", json: `{"at":"2026-11-25T12:00:00Z","no_data":true}`, want: gap(0)},
		{name: "a word is not a value", json: `{"at":"2026-11-25T12:00:00Z","value":"high"}`, wantErr: true},
		{name: "an object is not a value", json: `{"at":"2026-11-25T12:00:00Z","value":{}}`, wantErr: true},
		{name: "not an object", json: `[]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got domain.Sample
			err := json.Unmarshal([]byte(tt.json), &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("Unmarshal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSampleMissing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    domain.Sample
		want bool
	}{{val(0, 1), false}, {val(0, math.Inf(1)), false}, {val(0, nan), true}, {gap(0), true}, {domain.Sample{NoData: true, Value: 3}, true}} {
		if got := tt.s.Missing(); got != tt.want {
			t.Errorf("%+v.Missing() = %v, want %v", tt.s, got, tt.want)
		}
	}
}
