package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// LoadYAMLFile decodes the YAML file at path over v, which holds the
// defaults: fields the file sets replace them, the others stay. Unknown
// fields are errors (a typo must not silently keep a default); errors name
// what (e.g. "deployer config") and the file. An empty file changes nothing.
func LoadYAMLFile(path, what string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	return nil
}
