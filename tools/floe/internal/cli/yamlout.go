package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"go.yaml.in/yaml/v3"
)

// -o yaml: commands write JSON (as with -o json); yamlWriter turns each
// JSON document written into a YAML one (block style, keys in the JSON's
// order, strings that would read as another type quoted), documents
// separated by "---". Anything that is not JSON passes through unchanged.
type yamlWriter struct {
	w    io.Writer
	buf  []byte
	docs int
}

func newYAMLWriter(w io.Writer) *yamlWriter { return &yamlWriter{w: w} }

func (y *yamlWriter) Write(p []byte) (int, error) {
	y.buf = append(y.buf, p...)
	for len(bytes.TrimSpace(y.buf)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(y.buf))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return len(p), nil // the rest of the document comes with the next write
		}
		if err != nil { // not JSON: as it is
			_, werr := y.w.Write(y.buf)
			y.buf = y.buf[:0]
			return len(p), werr
		}
		out, err := jsonToYAML(raw)
		if err != nil {
			return 0, err
		}
		if y.docs > 0 {
			out = append([]byte("---\n"), out...)
		}
		y.docs++
		if _, err := y.w.Write(out); err != nil {
			return 0, err
		}
		y.buf = append(y.buf[:0], y.buf[dec.InputOffset():]...)
	}
	y.buf = y.buf[:0]
	return len(p), nil
}

// jsonToYAML re-encodes a JSON document (which YAML reads as flow style) in block style.
func jsonToYAML(doc []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, err
	}
	block(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func block(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle
	for _, c := range n.Content {
		block(c)
	}
}
