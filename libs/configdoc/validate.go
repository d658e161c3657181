package configdoc

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/leakscan"
)

// BuiltinSchemaID is the $id of the built-in schema. A user schema may refer
// to its definitions, e.g. {"$ref": BuiltinSchemaID + "#/$defs/secretRef"}.
const BuiltinSchemaID = "https://floe.penguinmails.dev/schemas/environment-config.json"

// userSchemaURL is where a user schema is registered in its compiler.
const userSchemaURL = "https://floe.penguinmails.dev/schemas/user-config.json"

//go:embed environment-config.schema.json
var builtinSchemaJSON []byte

// BuiltinSchema returns the built-in JSON Schema (draft 2020-12) of an
// environment configuration document.
func BuiltinSchema() []byte { return bytes.Clone(builtinSchemaJSON) }

// builtinDoc and builtinSchema are decoded and compiled once; both are
// immutable afterwards.
var (
	builtinDoc = sync.OnceValue(func() any {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(builtinSchemaJSON))
		if err != nil {
			panic(fmt.Sprintf("configdoc: embedded schema: %v", err))
		}
		return v
	})
	builtinSchema = sync.OnceValue(func() *jsonschema.Schema {
		c := newCompiler()
		sch, err := c.Compile(BuiltinSchemaID)
		if err != nil {
			panic(fmt.Sprintf("configdoc: embedded schema: %v", err))
		}
		return sch
	})
)

// printer renders the schema library's messages.
var printer = message.NewPrinter(language.English)

// noLoader refuses every external reference: a user schema must not make
// the service read files or fetch URLs.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema references are not allowed (only %s is available)", BuiltinSchemaID)
}

func newCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	c.AssertFormat()
	if err := c.AddResource(BuiltinSchemaID, builtinDoc()); err != nil {
		panic(fmt.Sprintf("configdoc: embedded schema: %v", err))
	}
	return c
}

// Validator checks documents against the built-in schema, an optional user
// schema, and the leak scanner. It is safe for concurrent use; compile it
// once per user schema version.
type Validator struct {
	user *jsonschema.Schema
}

// NewValidator compiles userSchema (JSON Schema, draft 2020-12 unless its
// $schema says otherwise; formats are asserted; external $refs other than
// BuiltinSchemaID are refused). An empty userSchema means none. A schema that
// does not parse or compile is an *errs.InvalidArgumentError on field
// "schema" with the compiler's message.
func NewValidator(userSchema []byte) (*Validator, error) {
	v := &Validator{}
	if len(bytes.TrimSpace(userSchema)) == 0 {
		return v, nil
	}
	doc, err := parseJSON(userSchema, "schema")
	if err != nil {
		var tl *errs.TooLargeError
		if errors.As(err, &tl) {
			return nil, err
		}
		var v errs.Violations
		v.Merge("schema", err) // parseJSON's violations are at paths in the schema
		return nil, v.Err()
	}
	c := newCompiler()
	if err := c.AddResource(userSchemaURL, doc); err != nil {
		return nil, errs.Invalid("schema", "%s", oneLine(err.Error()))
	}
	sch, err := c.Compile(userSchemaURL)
	if err != nil {
		return nil, errs.Invalid("schema", "%s", oneLine(err.Error()))
	}
	v.user = sch
	return v, nil
}

// Validate is NewValidator(userSchema) followed by its Validate.
func Validate(doc Document, userSchema []byte) error {
	v, err := NewValidator(userSchema)
	if err != nil {
		return err
	}
	return v.Validate(doc)
}

// Validate returns nil or an *errs.InvalidArgumentError with one violation per
// problem, sorted by field: violations of the built-in schema, of the user
// schema, of the rules a schema cannot say (connectionPool.min ≤ max), and
// secret-looking values found by leakscan. Each field is the dotted JSON path
// of the value ("database.connectionPool.max", `features["new.checkout"]`);
// descriptions never repeat the offending value.
func (v *Validator) Validate(doc Document) error {
	var list []errs.FieldViolation
	root := map[string]any(doc)
	if root == nil {
		root = map[string]any{}
	}
	refFields := map[string]bool{}
	for _, sch := range []*jsonschema.Schema{builtinSchema(), v.user} {
		if sch == nil {
			continue
		}
		err := sch.Validate(root)
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			list = appendSchemaViolations(list, root, ve, refFields)
		} else if err != nil {
			list = append(list, errs.FieldViolation{Field: "", Description: oneLine(err.Error())})
		}
	}
	list = appendRuleViolations(list, root)
	for _, f := range leakscan.ScanJSON(root, "") {
		if refFields[f.Path] {
			continue // already told to use a secret reference there
		}
		list = append(list, errs.FieldViolation{Field: f.Path, Description: f.Description + "; " + leakscan.Hint})
	}
	if len(list) == 0 {
		return nil
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Field != list[j].Field {
			return list[i].Field < list[j].Field
		}
		return list[i].Description < list[j].Description
	})
	var out errs.Violations
	for i, fv := range list {
		if i > 0 && fv == list[i-1] {
			continue
		}
		out.Add(fv.Field, "%s", fv.Description)
	}
	return out.Err()
}

// defMessages replace the pattern errors of the secretRef and connectionUrl
// definitions.
var defMessages = map[string]string{
	"secretRef":     "must be a secret reference (secret://<name> or vault://<path>#<key>), not a literal value",
	"connectionUrl": "must be a URL without a password, or a secret reference (secret://<name> or vault://<path>#<key>) to one with a password",
}

// appendSchemaViolations flattens a validation error tree into violations,
// one per leaf; refFields records the paths already told to use a secret
// reference, where a leak finding would only repeat it.
func appendSchemaViolations(list []errs.FieldViolation, root any, ve *jsonschema.ValidationError, refFields map[string]bool) []errs.FieldViolation {
	if k, ok := ve.ErrorKind.(*kind.PropertyNames); ok {
		// The causes describe the name as if it were a value at the object.
		return append(list, errs.FieldViolation{
			Field:       leakscan.KeyPath(instancePath(root, ve.InstanceLocation), k.Property),
			Description: "is not an allowed name here",
		})
	}
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			list = appendSchemaViolations(list, root, c, refFields)
		}
		return list
	}
	path := instancePath(root, ve.InstanceLocation)
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			list = append(list, errs.FieldViolation{Field: leakscan.KeyPath(path, m), Description: "is required"})
		}
		return list
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			list = append(list, errs.FieldViolation{
				Field:       leakscan.KeyPath(path, p),
				Description: "is not a known setting here; put your own settings in a top-level section of your own or under a key starting with x-",
			})
		}
		return list
	case *kind.Pattern:
		for def, msg := range defMessages {
			if strings.Contains(ve.SchemaURL, "/$defs/"+def) {
				refFields[path] = true
				return append(list, errs.FieldViolation{Field: path, Description: msg})
			}
		}
		// The library's message repeats the value, which may be a secret.
		return append(list, errs.FieldViolation{Field: path, Description: fmt.Sprintf("does not match pattern %q", k.Want)})
	case *kind.Format:
		return append(list, errs.FieldViolation{Field: path, Description: fmt.Sprintf("is not a valid %s", k.Want)})
	case *kind.FalseSchema:
		return append(list, errs.FieldViolation{Field: path, Description: "is not allowed"})
	}
	return append(list, errs.FieldViolation{Field: path, Description: oneLine(ve.ErrorKind.LocalizedString(printer))})
}

// instancePath turns a JSON pointer's tokens into a dotted path, walking root
// to tell array indices from object keys.
func instancePath(root any, tokens []string) string {
	path, cur := "", root
	for _, tok := range tokens {
		switch c := cur.(type) {
		case []any:
			i, err := strconv.Atoi(tok)
			if err == nil && i >= 0 && i < len(c) {
				path, cur = leakscan.IndexPath(path, i), c[i]
				continue
			}
			path, cur = leakscan.KeyPath(path, tok), nil
		case map[string]any:
			path, cur = leakscan.KeyPath(path, tok), c[tok]
		default:
			path, cur = leakscan.KeyPath(path, tok), nil
		}
	}
	return path
}

// appendRuleViolations checks what JSON Schema cannot say.
func appendRuleViolations(list []errs.FieldViolation, root map[string]any) []errs.FieldViolation {
	db, _ := root["database"].(map[string]any)
	pool, _ := db["connectionPool"].(map[string]any)
	lo, okLo := pool["min"].(json.Number)
	hi, okHi := pool["max"].(json.Number)
	if okLo && okHi {
		a, okA := ratOf(lo)
		b, okB := ratOf(hi)
		if okA && okB && a.Cmp(b) > 0 {
			list = append(list, errs.FieldViolation{
				Field:       "database.connectionPool.min",
				Description: fmt.Sprintf("must not exceed database.connectionPool.max (%s)", CanonicalNumber(hi)),
			})
		}
	}
	return list
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
