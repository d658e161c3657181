package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/runtime"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
)

// newChangeCmd is `floe change`: one subcommand per ChangeService RPC.
func newChangeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "change",
		Short: "Change requests: submit, review, approve, schedule, close",
		Long: `A change request records what is changed in which environments, why, how it is
implemented, rolled back and tested, and who allowed it. It moves through
submitted → in_review → pending_approval → approved → scheduled (a window
assigned) → implementing (a linked release is deployed) → validated → closed;
or rejected, cancelled, failed.

Classes: standard (a pre-approved --template, approved on submission), normal
(technical review, then the policy's approvals) and emergency (a --justification,
a reduced approval, and a post-implementation review due after implementation).
Promotions to production-class environments need an approved change whose
window contains the moment of the promotion.

Permissions (in the change's environments): reading change.read; submit and
cancel change.submit; review, pir and close change.review; approve and reject
change.approve; schedule change.schedule.

Commands that change something accept --request-id: the server applies a
request id once, so repeating a command with the same --request-id is a safe
retry (by default each run uses a fresh random id). Times are RFC 3339
(2026-10-01T09:00:00Z) or a date (2026-10-01, meaning 00:00 UTC that day).

  floe change submit --title "Rotate TLS certificates" --env production --release 01J… \
    --implementation-step "Deploy the new bundle|ops|15|curl shows the new expiry" --rollback-step "Redeploy the old bundle"
  floe change review chg-tls-rotation --pass --notes "plan is complete"
  floe change approve chg-tls-rotation --role operations
  floe change schedule chg-tls-rotation --window prod-weekday-mornings
  floe change list --state pending_approval`,
	}
	cmd.AddCommand(
		newChangeSubmitCmd(g),
		newChangeReviewCmd(g),
		newChangeApproveCmd(g),
		newChangeRejectCmd(g),
		newChangeScheduleCmd(g),
		newChangeCancelCmd(g),
		newChangeGetCmd(g),
		newChangeListCmd(g),
		newChangePIRCmd(g),
		newChangeCloseCmd(g),
	)
	return cmd
}

func changeClient(conn *grpc.ClientConn) changev1.ChangeServiceClient {
	return changev1.NewChangeServiceClient(conn)
}

// headerMutate runs a mutating call whose request has no request_id field:
// the request id travels in the x-request-id header, which the server takes
// as the idempotency key when the client chose it (libs/runtime). As with
// mutate, a generated id whose outcome is unknown is printed for a safe retry.
func (g *globals) headerMutate(ctx context.Context, rid *requestID, fn func(context.Context, *grpc.ClientConn) error) error {
	id := rid.get()
	err := g.call(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(metadata.AppendToOutgoingContext(ctx, runtime.RequestIDHeader, id), conn)
	})
	if err != nil && rid.generated && outcomeUnknown(err) {
		fmt.Fprintf(g.errOut, "the request may or may not have been applied; to retry safely, repeat the command with --request-id %s\n", id)
	}
	return err
}

// enumValue reads an enum flag by its text name ("bug_fix"; case and '-'
// do not matter), naming the flag and the valid names when it is none of them.
func enumValue[E enumtext.Enum](flag, s string) (E, error) {
	v, ok := enumtext.Parse[E](strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", "_")))
	if !ok {
		return v, fmt.Errorf("--%s %q: want one of %s", flag, s, strings.Join(enumtext.Names[E](), ", "))
	}
	return v, nil
}

// enumHelp lists an enum's names for flag help.
func enumHelp[E enumtext.Enum]() string { return strings.Join(enumtext.Names[E](), ", ") }

// ---- flag values ----

// parseMinutes reads a duration as whole minutes: a number ("45") or a Go
// duration ("45m", "1h30m").
func parseMinutes(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: use minutes (45) or a Go duration (45m, 1h30m)", s)
	}
	if d < 0 || d%time.Minute != 0 {
		return 0, fmt.Errorf("%q is not a whole, non-negative number of minutes", s)
	}
	if d/time.Minute > 1<<32-1 {
		return 0, fmt.Errorf("%q is too long", s)
	}
	return uint32(d / time.Minute), nil
}

// minutesFlag reads a positive duration flag as minutes.
func minutesFlag(flag, s string) (uint32, error) {
	m, err := parseMinutes(s)
	if err != nil {
		return 0, fmt.Errorf("--%s: %w", flag, err)
	}
	if m == 0 {
		return 0, fmt.Errorf("--%s: the duration must be at least a minute", flag)
	}
	return m, nil
}

// stepFormat is how --*-step flags are written.
const stepFormat = `"description" or "description|owner|minutes|verification"`

// parseStep reads a plan step: "description", or up to four '|'-separated
// parts description|owner|minutes|verification (empty parts allowed, except
// the description; minutes as in parseMinutes).
func parseStep(s string) (*changev1.Step, error) {
	parts := strings.Split(s, "|")
	if len(parts) > 4 {
		return nil, fmt.Errorf("too many '|': want %s", stepFormat)
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	if parts[0] == "" {
		return nil, fmt.Errorf("the description is empty; want %s", stepFormat)
	}
	st := &changev1.Step{Description: parts[0], Owner: parts[1], Verification: parts[3]}
	if parts[2] != "" {
		m, err := parseMinutes(parts[2])
		if err != nil {
			return nil, fmt.Errorf("the expected time: %w", err)
		}
		st.ExpectedMinutes = m
	}
	return st, nil
}

// planFlag reads the steps of a plan given with flag; nil when there are none.
func planFlag(flag string, specs []string) (*changev1.Plan, error) {
	var p *changev1.Plan
	for _, s := range specs {
		if strings.TrimSpace(s) == "" {
			continue
		}
		st, err := parseStep(s)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", flag, s, err)
		}
		if p == nil {
			p = &changev1.Plan{}
		}
		p.Steps = append(p.Steps, st)
	}
	return p, nil
}

// actionFormat is how --prevention is written.
const actionFormat = `"description" or "description|owner|due"`

// parseAction reads a prevention action: "description", or
// "description|owner|due" with due RFC 3339 or a date (owner and due optional).
func parseAction(s string) (*changev1.Action, error) {
	parts := strings.Split(s, "|")
	if len(parts) > 3 {
		return nil, fmt.Errorf("too many '|': want %s", actionFormat)
	}
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	a := &changev1.Action{Description: strings.TrimSpace(parts[0]), Owner: strings.TrimSpace(parts[1])}
	if a.Description == "" {
		return nil, fmt.Errorf("the description is empty; want %s", actionFormat)
	}
	due, err := parseTime(parts[2])
	if err != nil {
		return nil, fmt.Errorf("the due time: %w", err)
	}
	a.Due = due
	return a, nil
}

// ---- submit ----

// submitFlags are the flags of `floe change submit`, one per SubmitRequest field.
type submitFlags struct {
	file, id, class, template, justification, title, description string
	typ, priority, impact, risk, regulatoryImpact                string
	plannedStart, duration                                       string
	maintenance                                                  bool
	envs, approvers, releases                                    []string
	implementation, rollback, testing                            []string
}

func (f *submitFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "read the SubmitRequest from this JSON or YAML file ('-': standard input); flags given override its fields")
	fl.StringVar(&f.id, "id", "", "the change id, a slug (default: one is made)")
	fl.StringVar(&f.class, "class", "normal", "change class: "+enumHelp[changev1.ChangeClass]())
	fl.StringVar(&f.template, "template", "", "the pre-approved template of a standard change (required for standard)")
	fl.StringVar(&f.justification, "justification", "", "why an emergency change cannot wait (required for emergency)")
	fl.StringVar(&f.title, "title", "", "one-line title")
	fl.StringVar(&f.description, "description", "", "what changes and why")
	fl.StringVar(&f.typ, "type", "", "what it is for: "+enumHelp[changev1.ChangeType]())
	fl.StringVar(&f.priority, "priority", "", "how urgent: "+enumHelp[changev1.ChangePriority]())
	fl.StringVar(&f.impact, "impact", "", "how much it touches: "+enumHelp[changev1.ChangeImpact]())
	fl.StringVar(&f.risk, "risk", "", "what could go wrong: "+enumHelp[changev1.ChangeRisk]())
	fl.StringVar(&f.regulatoryImpact, "regulatory-impact", "", "regulatory impact, in words")
	fl.StringSliceVar(&f.envs, "env", nil, "an environment it changes; repeat or separate with commas")
	fl.StringVar(&f.plannedStart, "planned-start", "", "when you would like it made (RFC 3339 or a date)")
	fl.StringVar(&f.duration, "duration", "", "how long it takes: minutes (45) or a Go duration (45m, 1h30m)")
	fl.BoolVar(&f.maintenance, "maintenance", false, "it needs a maintenance window (expected downtime)")
	fl.StringSliceVar(&f.approvers, "approver", nil, "a person asked to approve; repeat or separate with commas")
	fl.StringSliceVar(&f.releases, "release", nil, "a release that implements it; repeat or separate with commas")
	fl.StringArrayVar(&f.implementation, "implementation-step", nil, "an implementation step, in order: "+stepFormat+" (repeatable)")
	fl.StringArrayVar(&f.rollback, "rollback-step", nil, "a rollback step, in order (repeatable; same form)")
	fl.StringArrayVar(&f.testing, "testing-step", nil, "a testing step, in order (repeatable; same form)")
	completeWords(cmd, "class", enumtext.Names[changev1.ChangeClass]())
	completeWords(cmd, "type", enumtext.Names[changev1.ChangeType]())
	completeWords(cmd, "priority", enumtext.Names[changev1.ChangePriority]())
	completeWords(cmd, "impact", enumtext.Names[changev1.ChangeImpact]())
	completeWords(cmd, "risk", enumtext.Names[changev1.ChangeRisk]())
}

// request builds the SubmitRequest: the file's (when --file is given), then
// every flag given on the command line over it. A repeatable flag replaces
// the file's list. The class is normal when neither sets it.
func (f *submitFlags) request(changed func(string) bool, read func(string) ([]byte, error)) (*changev1.SubmitRequest, error) {
	req := &changev1.SubmitRequest{}
	if f.file != "" {
		data, err := read(f.file)
		if err != nil {
			return nil, fmt.Errorf("--file: %w", err)
		}
		if req, err = decodeSubmitRequest(f.file, data); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		flag string
		dst  *string
		val  string
	}{
		{"id", &req.Id, f.id}, {"template", &req.Template, f.template}, {"justification", &req.Justification, f.justification},
		{"title", &req.Title, f.title}, {"description", &req.Description, f.description}, {"regulatory-impact", &req.RegulatoryImpact, f.regulatoryImpact},
	} {
		if changed(s.flag) {
			*s.dst = strings.TrimSpace(s.val)
		}
	}
	var errList []error
	if changed("class") || req.Class == changev1.ChangeClass_CHANGE_CLASS_UNSPECIFIED {
		v, err := enumValue[changev1.ChangeClass]("class", f.class)
		errList = append(errList, err)
		req.Class = v
	}
	if changed("type") {
		v, err := enumValue[changev1.ChangeType]("type", f.typ)
		errList = append(errList, err)
		req.Type = v
	}
	if changed("priority") {
		v, err := enumValue[changev1.ChangePriority]("priority", f.priority)
		errList = append(errList, err)
		req.Priority = v
	}
	if changed("impact") {
		v, err := enumValue[changev1.ChangeImpact]("impact", f.impact)
		errList = append(errList, err)
		req.Impact = v
	}
	if changed("risk") {
		v, err := enumValue[changev1.ChangeRisk]("risk", f.risk)
		errList = append(errList, err)
		req.Risk = v
	}
	if changed("env") {
		req.Environments = nonEmpty(f.envs)
	}
	if changed("approver") {
		req.Approvers = nonEmpty(f.approvers)
	}
	if changed("release") {
		req.Releases = nonEmpty(f.releases)
	}
	if changed("planned-start") || changed("duration") || changed("maintenance") {
		if req.Schedule == nil {
			req.Schedule = &changev1.Timing{}
		}
		if changed("planned-start") {
			t, err := timeFlag("planned-start", f.plannedStart)
			errList = append(errList, err)
			req.Schedule.PlannedStart = t
		}
		if changed("duration") {
			m, err := minutesFlag("duration", f.duration)
			errList = append(errList, err)
			req.Schedule.DurationMinutes = m
		}
		if changed("maintenance") {
			req.Schedule.Maintenance = f.maintenance
		}
	}
	for _, p := range []struct {
		flag  string
		dst   **changev1.Plan
		specs []string
	}{{"implementation-step", &req.Implementation, f.implementation}, {"rollback-step", &req.Rollback, f.rollback}, {"testing-step", &req.Testing, f.testing}} {
		if changed(p.flag) {
			plan, err := planFlag(p.flag, p.specs)
			errList = append(errList, err)
			*p.dst = plan
		}
	}
	if err := errors.Join(errList...); err != nil {
		return nil, err
	}
	return req, nil
}

// decodeSubmitRequest reads a SubmitRequest written as JSON or YAML (by the
// file name's extension, else by whether it starts with '{'). Field names are
// the proto's (planned_start) or their JSON form (plannedStart); enums take
// their short names (class: emergency); times may be dates; a plan may be a
// list of steps and a step a "description|owner|minutes|verification" string.
func decodeSubmitRequest(name string, data []byte) (*changev1.SubmitRequest, error) {
	ext := strings.ToLower(filepath.Ext(name))
	isJSON := ext == ".json" || (ext != ".yaml" && ext != ".yml" && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")))
	var doc any
	if isJSON {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("--file %s: not JSON: %w", name, err)
		}
	} else {
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("--file %s: not YAML: %w", name, err)
		}
		var err error
		if doc, err = yamlToJSON(doc); err != nil {
			return nil, fmt.Errorf("--file %s: %w", name, err)
		}
	}
	req := &changev1.SubmitRequest{}
	if doc == nil {
		return req, nil
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("--file %s: want a mapping of SubmitRequest fields (title, environments, implementation, …)", name)
	}
	norm, err := normalizeMessage(req.ProtoReflect().Descriptor(), m, "")
	if err != nil {
		return nil, fmt.Errorf("--file %s: %w", name, err)
	}
	b, err := json.Marshal(norm)
	if err != nil {
		return nil, fmt.Errorf("--file %s: %w", name, err)
	}
	if err := protojson.Unmarshal(b, req); err != nil {
		return nil, fmt.Errorf("--file %s: %w", name, err)
	}
	return req, nil
}

// yamlToJSON makes a decoded YAML document encodable as JSON: string map
// keys, times as RFC 3339 text.
func yamlToJSON(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("key %v is not a field name", k)
			}
			c, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			out[ks] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	}
	return v, nil
}

// normalizeMessage rewrites a JSON object for protojson along the message
// descriptor md: short enum names to full ones, dates to RFC 3339, plans
// given as lists and steps given as text. Unknown fields stay for protojson
// to refuse.
func normalizeMessage(md protoreflect.MessageDescriptor, m map[string]any, path string) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(strings.ReplaceAll(k, "-", "_")))
		}
		if fd == nil || fd.IsMap() {
			out[k] = v
			continue
		}
		p := fieldPath(path, string(fd.Name()))
		if fd.IsList() {
			list, ok := v.([]any)
			if !ok && v != nil {
				list = []any{v} // a single value for a list
			}
			norm := make([]any, len(list))
			for i, e := range list {
				n, err := normalizeValue(fd, e, fmt.Sprintf("%s[%d]", p, i))
				if err != nil {
					return nil, err
				}
				norm[i] = n
			}
			out[k] = norm
			continue
		}
		n, err := normalizeValue(fd, v, p)
		if err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, nil
}

func fieldPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// normalizeValue normalizes one value of field fd (one element of a list).
func normalizeValue(fd protoreflect.FieldDescriptor, v any, path string) (any, error) {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		s, ok := v.(string)
		if !ok {
			return v, nil
		}
		full, err := enumFullName(fd.Enum(), s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return full, nil
	case protoreflect.MessageKind:
		md := fd.Message()
		switch md.FullName() {
		case "google.protobuf.Timestamp":
			s, ok := v.(string)
			if !ok {
				return v, nil
			}
			t, err := parseTime(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if t == nil {
				return nil, nil
			}
			return t.AsTime().Format(time.RFC3339Nano), nil
		case (&changev1.Plan{}).ProtoReflect().Descriptor().FullName():
			if list, ok := v.([]any); ok {
				v = map[string]any{"steps": list}
			}
		case (&changev1.Step{}).ProtoReflect().Descriptor().FullName():
			if s, ok := v.(string); ok {
				st, err := parseStep(s)
				if err != nil {
					return nil, fmt.Errorf("%s %q: %w", path, s, err)
				}
				b, err := protojson.Marshal(st)
				if err != nil {
					return nil, err
				}
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					return nil, err
				}
				return m, nil
			}
		}
		if m, ok := v.(map[string]any); ok {
			return normalizeMessage(md, m, path)
		}
	}
	return v, nil
}

// enumFullName maps an enum's short name ("bug_fix", "bug-fix", "BUG_FIX") or
// full name to the full name protojson reads.
func enumFullName(ed protoreflect.EnumDescriptor, s string) (string, error) {
	prefix := ""
	if z := ed.Values().ByNumber(0); z != nil {
		prefix = strings.TrimSuffix(string(z.Name()), "UNSPECIFIED")
	}
	key := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	var names []string
	for i := range ed.Values().Len() {
		v := ed.Values().Get(i)
		if v.Number() == 0 {
			continue
		}
		short := strings.TrimPrefix(string(v.Name()), prefix)
		if key == short || key == string(v.Name()) {
			return string(v.Name()), nil
		}
		names = append(names, strings.ToLower(short))
	}
	return "", fmt.Errorf("%q: want one of %s", s, strings.Join(names, ", "))
}

// readInput reads a file, or standard input for "-".
func readInput(cmd *cobra.Command) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if name == "-" {
			return io.ReadAll(cmd.InOrStdin())
		}
		return os.ReadFile(name)
	}
}

func newChangeSubmitCmd(g *globals) *cobra.Command {
	var (
		f   submitFlags
		rid requestID
	)
	cmd := &cobra.Command{
		Use:   "submit --title TEXT --env ENV [flags] | -f FILE",
		Short: "Submit a change request",
		Long: `submit records a change request. A standard change (--class standard with its
--template) is approved on submission; a normal one (the default) awaits its
technical review; an emergency one (--justification) awaits its reduced
approval and owes a post-implementation review once implemented.

Plans are ordered steps, one flag per step:
  --implementation-step "description" or "description|owner|minutes|verification"
(minutes as 15 or 15m; empty parts are allowed: "Drain the node||10").

-f FILE reads the whole SubmitRequest as JSON or YAML (field names as in the
proto, e.g. planned_start, or plannedStart; enums by short name; plans as lists
of steps, a step as a mapping or as the text form above). Flags given on the
command line override the file's fields; a repeatable flag replaces its list.

The first line printed is "change <id> submitted: <state>", for scripts.
Needs change.submit in the change's environments.`,
		Example: `  floe change submit --title "Rotate TLS certificates" --type security --priority high --impact low --risk medium \
    --env production --release 01J9Z… --planned-start 2026-10-01T09:00:00Z --duration 45m \
    --implementation-step "Deploy the new bundle|ops|15|curl shows the new expiry" \
    --rollback-step "Redeploy the old bundle|ops|10" --testing-step "Smoke test checkout"
  floe change submit --class emergency --justification "Certificate expires in 2 hours" --title "Renew cert" --env production
  floe change submit -f change.yaml --title "Same plan, new title"

  # change.yaml
  title: Rotate TLS certificates
  class: normal
  type: security
  environments: [production]
  schedule: {planned_start: 2026-10-01T09:00:00Z, duration_minutes: 45}
  implementation:
    - Deploy the new bundle|ops|15|curl shows the new expiry
  rollback:
    - {description: Redeploy the old bundle, owner: ops, expected_minutes: 10}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := f.request(cmd.Flags().Changed, readInput(cmd))
			if err != nil {
				return err
			}
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := changeClient(conn).Submit(ctx, req)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				fmt.Fprintln(g.out, changeHeadline(resp.GetChange(), "submitted"))
				return printChange(g.out, resp.GetChange())
			})
		},
	}
	f.bind(cmd)
	rid.bind(cmd)
	return cmd
}

// changeHeadline is the first line a mutating command prints.
func changeHeadline(c *changev1.ChangeRequest, verb string) string {
	return fmt.Sprintf("change %s %s: %s", c.GetId(), verb, orDash(enumtext.Name(c.GetState())))
}

// changeMutated prints a mutating command's result: the response as JSON
// with -o json, else the headline and what the next step needs.
func changeMutated(g *globals, resp proto.Message, c *changev1.ChangeRequest, verb string) error {
	if g.output == "json" {
		return printJSON(g.out, resp)
	}
	fmt.Fprintln(g.out, changeHeadline(c, verb))
	return printChangeBrief(g.out, c)
}

// ---- review, approve, reject, schedule, cancel, pir, close ----

func newChangeReviewCmd(g *globals) *cobra.Command {
	var (
		pass, reject bool
		notes        string
		rid          requestID
	)
	cmd := &cobra.Command{
		Use:   "review ID [--pass | --reject] [--notes TEXT]",
		Short: "Take or complete a change's technical review",
		Long: `review without --pass or --reject takes the technical review of a submitted
normal change (it moves to in_review, with you as its reviewer); --pass
completes it (the change awaits its approvals) and --reject refuses the change.
The submitter cannot review their own change. Needs change.review.`,
		Example: `  floe change review chg-tls-rotation
  floe change review chg-tls-rotation --pass --notes "rollback tested in staging"
  floe change review chg-tls-rotation --reject --notes "no rollback plan"`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if pass && reject {
				return errors.New("give --pass or --reject, not both (neither takes the review)")
			}
			req := &changev1.ReviewRequest{ChangeId: args[0], Notes: notes}
			verb := "taken for review"
			switch {
			case pass:
				req.Outcome, verb = "passed", "passed review"
			case reject:
				req.Outcome, verb = "rejected", "rejected in review"
			}
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := changeClient(conn).Review(ctx, req)
				if err != nil {
					return err
				}
				return changeMutated(g, resp, resp.GetChange(), verb)
			})
		},
	}
	cmd.Flags().BoolVar(&pass, "pass", false, "complete the review: the change passed")
	cmd.Flags().BoolVar(&reject, "reject", false, "complete the review: the change is rejected")
	cmd.Flags().StringVar(&notes, "notes", "", "the reviewer's notes")
	rid.bind(cmd)
	return cmd
}

func newChangeApproveCmd(g *globals) *cobra.Command {
	var (
		role, comment string
		rid           requestID
	)
	cmd := &cobra.Command{
		Use:   "approve ID [--role ROLE] [--comment TEXT]",
		Short: "Approve a change as one of your roles",
		Long: `approve records your approval as one role you hold in the change's
environments: --role names it (the API's "as"; the global --as picks the dev
user instead), else the first of your roles the change still needs. The change
is approved when its approvals meet every requirement ('floe change get' shows
them). Nobody approves their own change, and each person approves once.
Needs change.approve.`,
		Example: `  floe change approve chg-tls-rotation --role operations --comment "window agreed with support"
  floe --as bob change approve chg-tls-rotation`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &changev1.ApproveRequest{ChangeId: args[0], As: strings.TrimSpace(role), Comment: comment}
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := changeClient(conn).Approve(ctx, req)
				if err != nil {
					return err
				}
				return changeMutated(g, resp, resp.GetChange(), "approval recorded")
			})
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "the role to approve as (default: the first of yours the change still needs)")
	cmd.Flags().StringVar(&comment, "comment", "", "a comment recorded with the approval")
	rid.bind(cmd)
	return cmd
}

// newChangeReasonCmd is reject or cancel: a change id and a required reason.
func newChangeReasonCmd(g *globals, verb string) *cobra.Command {
	var (
		reason string
		rid    requestID
	)
	short, long, example, past := "Reject a change during its review or approval",
		`reject refuses a change in review or awaiting approval, with a reason. Needs
change.approve.`, `  floe change reject chg-tls-rotation --reason "collides with the quarter-end freeze"`, "rejected"
	if verb == "cancel" {
		short, long, example, past = "Withdraw a change before its implementation",
			`cancel withdraws a change that has not started implementation, with a reason.
Needs change.submit.`, `  floe change cancel chg-tls-rotation --reason "superseded by chg-tls-rotation-2"`, "cancelled"
	}
	cmd := &cobra.Command{
		Use:     verb + " ID --reason TEXT",
		Short:   short,
		Long:    long,
		Example: example,
		Args:    positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("reason", reason, "why the change is "+past); err != nil {
				return err
			}
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				c := changeClient(conn)
				if verb == "cancel" {
					resp, err := c.Cancel(ctx, &changev1.CancelRequest{ChangeId: args[0], Reason: reason})
					if err != nil {
						return err
					}
					return changeMutated(g, resp, resp.GetChange(), past)
				}
				resp, err := c.Reject(ctx, &changev1.RejectRequest{ChangeId: args[0], Reason: reason})
				if err != nil {
					return err
				}
				return changeMutated(g, resp, resp.GetChange(), past)
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	rid.bind(cmd)
	return cmd
}

func newChangeRejectCmd(g *globals) *cobra.Command { return newChangeReasonCmd(g, "reject") }
func newChangeCancelCmd(g *globals) *cobra.Command { return newChangeReasonCmd(g, "cancel") }

// changeScheduleFlags are the flags of `floe change schedule`.
type changeScheduleFlags struct {
	windowID, at, start, end string
	maintenance              bool
}

// request builds the ScheduleRequest: a window id, or a range.
func (f *changeScheduleFlags) request(id string) (*changev1.ScheduleRequest, error) {
	req := &changev1.ScheduleRequest{ChangeId: id, WindowId: strings.TrimSpace(f.windowID), Maintenance: f.maintenance}
	var err error
	if req.At, err = timeFlag("at", f.at); err != nil {
		return nil, err
	}
	if req.Start, err = timeFlag("start", f.start); err != nil {
		return nil, err
	}
	if req.End, err = timeFlag("end", f.end); err != nil {
		return nil, err
	}
	switch {
	case req.WindowId != "" && (req.Start != nil || req.End != nil):
		return nil, errors.New("give --window, or --start and --end, not both")
	case req.WindowId != "" && f.maintenance:
		return nil, errors.New("--maintenance is for a range given with --start and --end; a deployment window says itself whether it is one")
	case req.WindowId == "" && (req.Start == nil || req.End == nil):
		return nil, errors.New("give --window WINDOW_ID (see 'floe window list'), or --start and --end")
	case req.Start != nil && !req.End.AsTime().After(req.Start.AsTime()):
		return nil, fmt.Errorf("--end %s is not after --start %s", fmtTime(req.End), fmtTime(req.Start))
	}
	return req, nil
}

func newChangeScheduleCmd(g *globals) *cobra.Command {
	var (
		f   changeScheduleFlags
		rid requestID
	)
	cmd := &cobra.Command{
		Use:   "schedule ID (--window WINDOW_ID [--at T] | --start T --end T [--maintenance])",
		Short: "Assign an approved change its window",
		Long: `schedule assigns an approved change the window it is to be implemented in:
--window names a deployment window ('floe window list'), whose occurrence
containing --at (or the next one after --at, or after now) is used; or --start
and --end give the range here (--maintenance when it is a maintenance window).
--at is when the change starts within the window (default: its planned start
when that fits, else the window's start). Promotions of the change's releases
pass only inside the window. Needs change.schedule.`,
		Example: `  floe change schedule chg-tls-rotation --window prod-weekday-mornings
  floe change schedule chg-tls-rotation --window prod-weekday-mornings --at 2026-10-01T09:30:00Z
  floe change schedule chg-tls-rotation --start 2026-10-03T22:00:00Z --end 2026-10-04T00:00:00Z --maintenance`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := f.request(args[0])
			if err != nil {
				return err
			}
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := changeClient(conn).Schedule(ctx, req)
				if err != nil {
					return err
				}
				return changeMutated(g, resp, resp.GetChange(), "scheduled")
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.windowID, "window", "", "a deployment window's id")
	fl.StringVar(&f.at, "at", "", "when the change starts within the window (RFC 3339 or a date)")
	fl.StringVar(&f.start, "start", "", "start of a range given here (RFC 3339 or a date)")
	fl.StringVar(&f.end, "end", "", "end of a range given here, exclusive (RFC 3339 or a date)")
	fl.BoolVar(&f.maintenance, "maintenance", false, "the range given here is a maintenance window")
	rid.bind(cmd)
	return cmd
}

func newChangePIRCmd(g *globals) *cobra.Command {
	var (
		rootCause, notes string
		prevention       []string
		rid              requestID
	)
	cmd := &cobra.Command{
		Use:     "pir ID --root-cause TEXT [--prevention \"description|owner|due\"]… [--notes TEXT]",
		Aliases: []string{"post-implementation-review"},
		Short:   "Record a change's post-implementation review",
		Long: `pir records the post-implementation review of an implemented change (an
emergency change owes one, due after its implementation; closing waits for it):
the root cause and the actions that prevent a recurrence, each
"description|owner|due" (owner and due optional; due RFC 3339 or a date).
Needs change.review.`,
		Example: `  floe change pir chg-cert-renewal --root-cause "the renewal job lost its credentials in the vault migration" \
    --prevention "Alert 14 days before certificate expiry|ops|2026-10-15" --prevention "Add the job to the migration checklist"`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("root-cause", rootCause, "what caused the need for the change"); err != nil {
				return err
			}
			req := &changev1.CompletePostImplementationReviewRequest{ChangeId: args[0], RootCause: rootCause, Notes: notes}
			for _, s := range prevention {
				a, err := parseAction(s)
				if err != nil {
					return fmt.Errorf("--prevention %q: %w", s, err)
				}
				req.Prevention = append(req.Prevention, a)
			}
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := changeClient(conn).CompletePostImplementationReview(ctx, req)
				if err != nil {
					return err
				}
				return changeMutated(g, resp, resp.GetChange(), "reviewed after implementation")
			})
		},
	}
	cmd.Flags().StringVar(&rootCause, "root-cause", "", "the root cause (required)")
	cmd.Flags().StringArrayVar(&prevention, "prevention", nil, `a prevention action, "description|owner|due" (repeatable)`)
	cmd.Flags().StringVar(&notes, "notes", "", "anything else the review found")
	rid.bind(cmd)
	return cmd
}

func newChangeCloseCmd(g *globals) *cobra.Command {
	var (
		notes string
		rid   requestID
	)
	cmd := &cobra.Command{
		Use:   "close ID [--notes TEXT]",
		Short: "Close a validated or failed change",
		Long: `close closes a change once it is validated (successful) or failed; an emergency
change closes only after its post-implementation review ('floe change pir').
Needs change.review.`,
		Example: `  floe change close chg-tls-rotation --notes "certificates valid until 2027-10-01"`,
		Args:    positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.headerMutate(cmd.Context(), &rid, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := changeClient(conn).Close(ctx, &changev1.CloseRequest{ChangeId: args[0], Notes: notes})
				if err != nil {
					return err
				}
				return changeMutated(g, resp, resp.GetChange(), "closed")
			})
		},
	}
	cmd.Flags().StringVar(&notes, "notes", "", "closing notes")
	rid.bind(cmd)
	return cmd
}

// ---- get, list ----

func newChangeGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "get ID",
		Aliases: []string{"show"},
		Short:   "Show a change: its fields, approvals, window, deployments, review and history",
		Long: `get prints a change request: every field, the approvals its policy requires
(met or missing) and those given, its window, the deployments implementing it
with their checks, when its post-implementation review is due (and whether it
is overdue), the review, and then its history, one line per event.
Needs change.read.`,
		Example: `  floe change get chg-tls-rotation
  floe change get chg-tls-rotation -o json`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := changeClient(conn).Get(ctx, &changev1.GetRequest{ChangeId: args[0]})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				return printChangeAndHistory(g.out, resp)
			})
		},
	}
}

// changeListFlags are the filters of `floe change list`.
type changeListFlags struct {
	states       []string
	env, release string
	class        string
	overdue      bool
	limit        int
	at           string
}

// request builds the first page's ListRequest.
func (f *changeListFlags) request() (*changev1.ListRequest, error) {
	req := &changev1.ListRequest{Environment: strings.TrimSpace(f.env), ReleaseId: strings.TrimSpace(f.release), ReviewOverdue: f.overdue}
	at, err := parseAsOf(f.at)
	if err != nil {
		return nil, err
	}
	req.AsOfPosition, req.AsOfTime = at.Position, at.Time
	for _, s := range nonEmpty(f.states) {
		v, err := enumValue[changev1.ChangeState]("state", s)
		if err != nil {
			return nil, err
		}
		req.States = append(req.States, v)
	}
	if f.class != "" {
		v, err := enumValue[changev1.ChangeClass]("class", f.class)
		if err != nil {
			return nil, err
		}
		req.Class = v
	}
	if f.limit < 0 {
		return nil, fmt.Errorf("--limit %d: want 0 (no limit) or more", f.limit)
	}
	req.PageSize = listPageSize(f.limit)
	return req, nil
}

// listPageSize is the page size for a limit: the limit, at most 500 (the
// largest page servers give), or the server's default for no limit.
func listPageSize(limit int) uint32 {
	switch {
	case limit <= 0:
		return 0
	case limit > 500:
		return 500
	}
	return uint32(limit)
}

// listChanges follows next_page_token until limit changes (0: all) are read.
// more reports whether changes beyond the limit remain.
func listChanges(ctx context.Context, c changev1.ChangeServiceClient, req *changev1.ListRequest, limit int) (changes []*changev1.ChangeRequest, more bool, err error) {
	req = proto.CloneOf(req)
	for {
		resp, err := c.List(ctx, req)
		if err != nil {
			return nil, false, err
		}
		changes = append(changes, resp.GetChanges()...)
		if limit > 0 && len(changes) >= limit {
			return changes[:limit], len(changes) > limit || resp.GetNextPageToken() != "", nil
		}
		if resp.GetNextPageToken() == "" {
			return changes, false, nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func newChangeListCmd(g *globals) *cobra.Command {
	var f changeListFlags
	cmd := &cobra.Command{
		Use:   "list [--state S]… [--env ENV] [--release ID] [--class C] [--overdue] [--limit N] [--at POSITION|TIME]",
		Short: "List change requests, newest first",
		Long: `list prints one line per change request, newest first: its id, class, state,
title, environments, releases, its post-implementation review (due, overdue,
done) and when it last changed. Filters combine; --state repeats (any of them).
It reads page after page up to --limit (0: every change). --at lists them as
they were at a log position or a moment, rebuilt from their events (the
filters then apply to that past state). Needs change.read.`,
		Example: `  floe change list --state pending_approval --state in_review
  floe change list --env production --class emergency --overdue
  floe change list --release 01J9Z… -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := f.request()
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				changes, more, err := listChanges(ctx, changeClient(conn), req, f.limit)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, &changev1.ListResponse{Changes: changes})
				}
				if err := printChangeList(g.out, changes); err != nil {
					return err
				}
				if more {
					fmt.Fprintf(g.errOut, "showing the first %d; more match (raise --limit, or --limit 0 for all)\n", len(changes))
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.states, "state", nil, "only changes in this state (repeatable): "+enumHelp[changev1.ChangeState]())
	fl.StringVar(&f.env, "env", "", "only changes to this environment")
	fl.StringVar(&f.release, "release", "", "only changes this release implements")
	fl.StringVar(&f.class, "class", "", "only changes of this class: "+enumHelp[changev1.ChangeClass]())
	fl.BoolVar(&f.overdue, "overdue", false, "only changes whose post-implementation review is overdue")
	fl.IntVar(&f.limit, "limit", 50, "at most this many (0: all)")
	fl.StringVar(&f.at, "at", "", asOfUsage)
	completeWords(cmd, "state", enumtext.Names[changev1.ChangeState]())
	completeWords(cmd, "class", enumtext.Names[changev1.ChangeClass]())
	return cmd
}

// ---- rendering ----

// fmtMinutes writes minutes as a short duration: 45m, 4h, 1h30m.
func fmtMinutes(m uint32) string {
	if m == 0 {
		return "-"
	}
	d := time.Duration(m) * time.Minute
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// stepText is one plan step on one line.
func stepText(i int, st *changev1.Step) string {
	s := fmt.Sprintf("%d. %s", i+1, oneLine(st.GetDescription(), 0))
	var extra []string
	if st.GetOwner() != "" {
		extra = append(extra, st.GetOwner())
	}
	if st.GetExpectedMinutes() > 0 {
		extra = append(extra, fmtMinutes(st.GetExpectedMinutes()))
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	if st.GetVerification() != "" {
		s += "; verify: " + oneLine(st.GetVerification(), 0)
	}
	return s
}

// requirementText is one requirement: "product or operations".
func requirementText(r *changev1.Requirement) string {
	return strings.Join(r.GetAnyOf(), " or ")
}

// reviewText is a change's post-implementation review status for tables.
func reviewText(c *changev1.ChangeRequest) string {
	switch {
	case c.GetReview() != nil && c.GetReview().GetLate():
		return "done (late)"
	case c.GetReview() != nil:
		return "done"
	case c.GetReviewOverdue():
		return "OVERDUE since " + fmtTime(c.GetReviewDue())
	case c.GetReviewDue() != nil:
		return "due " + fmtTime(c.GetReviewDue())
	}
	return "-"
}

// windowText is an assigned window on one line.
func windowText(w *changev1.AssignedWindow) string {
	s := fmt.Sprintf("%s to %s", fmtTime(w.GetStart()), fmtTime(w.GetEnd()))
	if w.GetWindowId() != "" {
		s = w.GetWindowId() + " " + s
	}
	if w.GetAt() != nil {
		s += ", starting " + fmtTime(w.GetAt())
	}
	if w.GetMaintenance() {
		s += " (maintenance)"
	}
	if len(w.GetEnvironments()) > 0 {
		s += " [" + strings.Join(w.GetEnvironments(), ", ") + "]"
	}
	return s
}

// approvalText is one approval on one line.
func approvalText(a *changev1.Approval) string {
	s := fmt.Sprintf("%s as %s at %s", a.GetApprover(), orDash(a.GetAs()), fmtTime(a.GetAt()))
	if !a.GetCounts() {
		s += " (did not count)"
	}
	if a.GetComment() != "" {
		s += ": " + oneLine(a.GetComment(), 120)
	}
	return s
}

// actionText is one prevention action on one line.
func actionText(a *changev1.Action) string {
	s := oneLine(a.GetDescription(), 0)
	var extra []string
	if a.GetOwner() != "" {
		extra = append(extra, a.GetOwner())
	}
	if a.GetDue() != nil {
		extra = append(extra, "due "+fmtTime(a.GetDue()))
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// requirementLines says of each requirement whether it is met.
func requirementLines(c *changev1.ChangeRequest) []string {
	missing := map[string]int{}
	for _, m := range c.GetMissing() {
		missing[requirementText(m)]++
	}
	var out []string
	for _, r := range c.GetRequirements() {
		k := requirementText(r)
		if missing[k] > 0 {
			missing[k]--
			out = append(out, k+": MISSING")
			continue
		}
		out = append(out, k+": met")
	}
	return out
}

// printChange writes every field of a change request, one per line.
func printChange(w io.Writer, c *changev1.ChangeRequest) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "ID\t%s\n", c.GetId())
	fmt.Fprintf(tw, "TITLE\t%s\n", orDash(oneLine(c.GetTitle(), 0)))
	state := orDash(enumtext.Name(c.GetState()))
	if c.GetReason() != "" {
		state += ": " + oneLine(c.GetReason(), 0)
	}
	if c.GetClosureOutcome() != "" {
		state += " (" + c.GetClosureOutcome() + ")"
	}
	fmt.Fprintf(tw, "STATE\t%s\n", state)
	fmt.Fprintf(tw, "CLASS\t%s\n", orDash(enumtext.Name(c.GetClass())))
	if c.GetTemplate() != "" {
		fmt.Fprintf(tw, "TEMPLATE\t%s\n", c.GetTemplate())
	}
	if c.GetJustification() != "" {
		fmt.Fprintf(tw, "JUSTIFICATION\t%s\n", oneLine(c.GetJustification(), 0))
	}
	fmt.Fprintf(tw, "TYPE\t%s\n", orDash(enumtext.Name(c.GetType())))
	fmt.Fprintf(tw, "PRIORITY\t%s\n", orDash(enumtext.Name(c.GetPriority())))
	fmt.Fprintf(tw, "IMPACT\t%s\n", orDash(enumtext.Name(c.GetImpact())))
	fmt.Fprintf(tw, "RISK\t%s\n", orDash(enumtext.Name(c.GetRisk())))
	if c.GetRegulatoryImpact() != "" {
		fmt.Fprintf(tw, "REGULATORY IMPACT\t%s\n", oneLine(c.GetRegulatoryImpact(), 0))
	}
	fmt.Fprintf(tw, "SUBMITTED\t%s by %s\n", fmtTime(c.GetSubmittedAt()), orDash(c.GetSubmitter()))
	fmt.Fprintf(tw, "UPDATED\t%s (version %d)\n", fmtTime(c.GetUpdatedAt()), c.GetVersion())
	fmt.Fprintf(tw, "ENVIRONMENTS\t%s\n", joinOrDash(c.GetEnvironments()))
	fmt.Fprintf(tw, "RELEASES\t%s\n", joinOrDash(c.GetReleases()))
	fmt.Fprintf(tw, "APPROVERS\t%s\n", joinOrDash(c.GetApprovers()))
	if s := c.GetSchedule(); s != nil {
		line := fmt.Sprintf("%s for %s", fmtTime(s.GetPlannedStart()), fmtMinutes(s.GetDurationMinutes()))
		if s.GetMaintenance() {
			line += " (needs a maintenance window)"
		}
		fmt.Fprintf(tw, "PLANNED\t%s\n", line)
	}
	if c.GetDescription() != "" {
		fmt.Fprintf(tw, "DESCRIPTION\t%s\n", oneLine(c.GetDescription(), 0))
	}
	for _, p := range []struct {
		name string
		plan *changev1.Plan
	}{{"IMPLEMENTATION", c.GetImplementation()}, {"ROLLBACK", c.GetRollback()}, {"TESTING", c.GetTesting()}} {
		if len(p.plan.GetSteps()) == 0 {
			fmt.Fprintf(tw, "%s\t-\n", p.name)
		}
		for i, st := range p.plan.GetSteps() {
			fmt.Fprintf(tw, "%s\t%s\n", p.name, stepText(i, st))
		}
	}
	for _, r := range requirementLines(c) {
		fmt.Fprintf(tw, "REQUIRES\t%s\n", r)
	}
	for _, a := range c.GetApprovals() {
		fmt.Fprintf(tw, "APPROVAL\t%s\n", approvalText(a))
	}
	if c.GetWindow() != nil {
		fmt.Fprintf(tw, "WINDOW\t%s\n", windowText(c.GetWindow()))
	}
	for _, d := range c.GetDeployments() {
		line := fmt.Sprintf("%s: release %s to %s at %s", d.GetDeploymentId(), d.GetReleaseId(), d.GetEnvironment(), fmtTime(d.GetStartedAt()))
		if d.GetOutsideWindow() {
			line += " (OUTSIDE the window)"
		}
		var checks []string
		for _, ch := range d.GetChecks() {
			checks = append(checks, ch.GetName()+" "+ch.GetOutcome())
		}
		if len(checks) > 0 {
			line += "; checks: " + strings.Join(checks, ", ")
		}
		fmt.Fprintf(tw, "DEPLOYMENT\t%s\n", line)
	}
	if c.GetReviewDue() != nil || c.GetReview() != nil {
		fmt.Fprintf(tw, "REVIEW DUE\t%s\n", reviewText(c))
	}
	if r := c.GetReview(); r != nil {
		line := fmt.Sprintf("by %s at %s", orDash(r.GetReviewer()), fmtTime(r.GetAt()))
		if r.GetLate() {
			line += " (late)"
		}
		fmt.Fprintf(tw, "REVIEW\t%s\n", line)
		fmt.Fprintf(tw, "ROOT CAUSE\t%s\n", oneLine(r.GetRootCause(), 0))
		for _, a := range r.GetPrevention() {
			fmt.Fprintf(tw, "PREVENTION\t%s\n", actionText(a))
		}
		if r.GetNotes() != "" {
			fmt.Fprintf(tw, "REVIEW NOTES\t%s\n", oneLine(r.GetNotes(), 0))
		}
	}
	return tw.Flush()
}

// printChangeBrief writes what a mutating command's user needs next: the
// approvals still missing, the window, the review due.
func printChangeBrief(w io.Writer, c *changev1.ChangeRequest) error {
	tw := newTable(w)
	if c.GetReason() != "" {
		fmt.Fprintf(tw, "REASON\t%s\n", oneLine(c.GetReason(), 0))
	}
	for _, m := range c.GetMissing() {
		fmt.Fprintf(tw, "MISSING\tan approval as %s\n", requirementText(m))
	}
	for _, a := range c.GetApprovals() {
		fmt.Fprintf(tw, "APPROVAL\t%s\n", approvalText(a))
	}
	if c.GetWindow() != nil {
		fmt.Fprintf(tw, "WINDOW\t%s\n", windowText(c.GetWindow()))
	}
	if c.GetReviewDue() != nil || c.GetReview() != nil {
		fmt.Fprintf(tw, "REVIEW DUE\t%s\n", reviewText(c))
	}
	if c.GetClosureOutcome() != "" {
		fmt.Fprintf(tw, "OUTCOME\t%s\n", c.GetClosureOutcome())
	}
	return tw.Flush()
}

// printChangeAndHistory writes `floe change get`: the change, then its history.
func printChangeAndHistory(w io.Writer, resp *changev1.GetResponse) error {
	if err := printChange(w, resp.GetChange()); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "VERSION\tAT\tACTOR\tEVENT\tSUMMARY\tPOSITION")
	for _, h := range resp.GetHistory() {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\n", h.GetVersion(), fmtTime(h.GetAt()), orDash(h.GetActor()), h.GetEvent(), oneLine(h.GetSummary(), 120), h.GetPosition())
	}
	return tw.Flush()
}

// printChangeList writes the table of `floe change list`.
func printChangeList(w io.Writer, changes []*changev1.ChangeRequest) error {
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "no change requests match")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tCLASS\tSTATE\tTITLE\tENVS\tRELEASES\tREVIEW\tUPDATED")
	for _, c := range changes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.GetId(), orDash(enumtext.Name(c.GetClass())), orDash(enumtext.Name(c.GetState())),
			oneLine(c.GetTitle(), 60), joinOrDash(c.GetEnvironments()), joinOrDash(c.GetReleases()), reviewText(c), fmtTime(c.GetUpdatedAt()))
	}
	return tw.Flush()
}
