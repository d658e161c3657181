// Package domain is the monitor's model: alert rules and rollback triggers
// evaluated over measurements, pure Go with a clock passed in.
package domain
