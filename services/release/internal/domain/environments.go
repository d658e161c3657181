package domain

import "github.com/penguinmails/floe/libs/envpolicy"

// The environments file lives in libs/envpolicy (the flag service enforces
// the same policy for configuration changes); these names keep the release
// domain's vocabulary.
type (
	// Environment is one environment's definition and promotion policy.
	Environment = envpolicy.Environment
	// Environments is the validated set, in promotion order.
	Environments = envpolicy.Environments
)

// The environments file's defaults and rules (see envpolicy).
const (
	DefaultEnvironmentsYAML = envpolicy.DefaultEnvironmentsYAML
	NamePattern             = envpolicy.NamePattern
	NameDescription         = envpolicy.NameDescription
)

var (
	// DefaultTargets are a release's target environments when none are given.
	DefaultTargets = envpolicy.DefaultTargets
	// ProductName is the rule for a product's name.
	ProductName = envpolicy.ProductName
	// DefaultEnvironments parses DefaultEnvironmentsYAML.
	DefaultEnvironments = envpolicy.DefaultEnvironments
	// ParseEnvironments parses and validates an environments file.
	ParseEnvironments = envpolicy.ParseEnvironments
)
