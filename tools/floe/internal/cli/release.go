package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/enumtext"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// newReleaseCmd is `floe release`: one subcommand per ReleaseService RPC.
// Subcommands live in release_*.go; a later one (e.g. `next`) can be added
// with one more AddCommand call here.
func newReleaseCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "release",
		Short: "Plan, approve, promote and inspect releases",
		Long: `Plan releases, collect approvals and promote them through environments.

Every command takes a release ID (a ULID, shown by 'floe release list'). Commands
that change a release accept --request-id: the server applies a request id once,
so repeating a command with the same --request-id is a safe retry (by default
each run uses a fresh random id).

Enum flags are case-insensitive and accept '-' or '_' (bug_fix, bug-fix, BugFix).
Times are RFC 3339 (2025-03-01T14:00:00Z, 2025-03-01T15:00:00+01:00) or a date
(2025-03-01, meaning 00:00 UTC that day).`,
	}
	cmd.AddCommand(
		newReleaseCreateCmd(g),
		newReleaseGetCmd(g),
		newReleaseListCmd(g),
		newReleaseUpdateCmd(g),
		newReleaseAddChangeCmd(g),
		newReleaseApproveCmd(g),
		newReleaseRequestApprovalCmd(g),
		newReleaseRejectCmd(g),
		newReleasePromoteCmd(g),
		newReleaseCancelCmd(g),
		newReleasePrereqCmd(g),
		newReleaseRiskCmd(g),
		newReleaseNotesCmd(g),
		newReleaseHistoryCmd(g),
		newReleaseWatchCmd(g),
		newReleaseEnvsCmd(g),
		newReleaseNextCmd(g),
	)
	return cmd
}

func releaseClient(conn *grpc.ClientConn) releasev1.ReleaseServiceClient {
	return releasev1.NewReleaseServiceClient(conn)
}

// positional checks the positional arguments against their names, with a
// message that says what is missing rather than a count.
func positional(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			for i, a := range args {
				if strings.TrimSpace(a) == "" {
					return fmt.Errorf("%s must not be empty", names[i])
				}
			}
			return nil
		}
		if len(args) < len(names) {
			return fmt.Errorf("missing %s (usage: %s)", strings.Join(names[len(args):], " "), cmd.UseLine())
		}
		return fmt.Errorf("too many arguments: want %s, got %q (quote values that contain spaces)", strings.Join(names, " "), args)
	}
}

// required reports a flag that must have a non-blank value.
func required(flag, value, why string) error {
	if strings.TrimSpace(value) != "" {
		return nil
	}
	if why != "" {
		return fmt.Errorf("--%s is required: %s", flag, why)
	}
	return fmt.Errorf("--%s is required", flag)
}

// nonEmpty drops blank items, so "--approver ”" can clear a list.
func nonEmpty(in []string) []string {
	out := []string{}
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// requestID is the --request-id flag of a mutating command.
type requestID struct {
	value     string
	generated bool
}

func (r *requestID) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.value, "request-id", "", "idempotency key, up to 128 characters: repeat a command with the same id to retry it safely (default: a fresh random id)")
}

// get returns the request id, generating a random one once when none was given.
func (r *requestID) get() string {
	if r.value == "" {
		r.value = newRequestID()
		r.generated = true
	}
	return r.value
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics on a broken system source)
	return hex.EncodeToString(b[:])
}

// mutate runs a mutating call. When its outcome is unknown (the call timed out
// or the connection broke) and the request id was generated, it tells the user
// how to retry without applying the change twice.
func (g *globals) mutate(ctx context.Context, rid *requestID, fn func(context.Context, releasev1.ReleaseServiceClient, string) error) error {
	id := rid.get()
	err := g.call(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, releaseClient(conn), id)
	})
	if err != nil && rid.generated && outcomeUnknown(err) {
		fmt.Fprintf(g.errOut, "the request may or may not have been applied; to retry safely, repeat the command with --request-id %s\n", id)
	}
	return err
}

func outcomeUnknown(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Unknown, codes.Internal:
		return true
	}
	return false
}

// ---- enums ----

// protoEnum is a generated proto enum type.
type protoEnum interface {
	~int32
	Descriptor() protoreflect.EnumDescriptor
}

// enumPrefix is the common prefix of an enum's value names, taken from its
// zero value: RELEASE_TYPE_UNSPECIFIED → RELEASE_TYPE_.
func enumPrefix(d protoreflect.EnumDescriptor) string {
	if v := d.Values().ByNumber(0); v != nil {
		return strings.TrimSuffix(string(v.Name()), "UNSPECIFIED")
	}
	return ""
}

// enumChoices are the short names a flag accepts, in declaration order.
func enumChoices(d protoreflect.EnumDescriptor) []string {
	prefix := enumPrefix(d)
	var out []string
	for i := range d.Values().Len() {
		v := d.Values().Get(i)
		if v.Number() == 0 {
			continue
		}
		out = append(out, strings.ToLower(strings.TrimPrefix(string(v.Name()), prefix)))
	}
	return out
}

// enumNoun names an enum for messages: RELEASE_TYPE_ → "release type".
func enumNoun(d protoreflect.EnumDescriptor) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSuffix(enumPrefix(d), "_"), "_", " "))
}

// enumKey normalises a name for comparison: case, '-', '_' and spaces do not matter.
func enumKey(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', ' ':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

// parseEnum parses a short enum name ("bug_fix", "bug-fix", "BUG_FIX", or the
// full "CHANGE_KIND_BUG_FIX") into E. aliases map extra short names
// (normalised with enumKey) to values. The zero (unspecified) value is never
// accepted; an unknown name gives an error that lists the valid ones.
func parseEnum[E protoEnum](s string, aliases map[string]E) (E, error) {
	var zero E
	d := zero.Descriptor()
	key := enumKey(s)
	key = strings.TrimPrefix(key, enumKey(enumPrefix(d)))
	if v, ok := aliases[key]; ok {
		return v, nil
	}
	for i := range d.Values().Len() {
		v := d.Values().Get(i)
		if v.Number() != 0 && enumKey(strings.TrimPrefix(string(v.Name()), enumPrefix(d))) == key {
			return E(v.Number()), nil
		}
	}
	if strings.TrimSpace(s) == "" {
		return zero, fmt.Errorf("no %s given (valid: %s)", enumNoun(d), strings.Join(enumChoices(d), ", "))
	}
	return zero, fmt.Errorf("unknown %s %q (valid: %s)", enumNoun(d), s, strings.Join(enumChoices(d), ", "))
}

// enumFlag parses the value of flag, naming the flag in the error.
func enumFlag[E protoEnum](flag, s string, aliases map[string]E) (E, error) {
	v, err := parseEnum(s, aliases)
	if err != nil {
		return v, fmt.Errorf("--%s: %w", flag, err)
	}
	return v, nil
}

// enumName is the short lower-case name of an enum value ("bug_fix"); "-" for
// unspecified.
func enumName[E protoEnum](v E) string {
	d := v.Descriptor()
	if v == 0 {
		return "-"
	}
	ev := d.Values().ByNumber(protoreflect.EnumNumber(v))
	if ev == nil {
		return fmt.Sprintf("%d", int32(v))
	}
	return strings.ToLower(strings.TrimPrefix(string(ev.Name()), enumPrefix(d)))
}

// changeKindAliases accept Conventional Commits' type names too.
var changeKindAliases = map[string]releasev1.ChangeKind{
	"feat": releasev1.ChangeKind_CHANGE_KIND_FEATURE,
	"fix":  releasev1.ChangeKind_CHANGE_KIND_BUG_FIX,
}

func parseChangeKind(s string) (releasev1.ChangeKind, error) {
	return parseEnum(s, changeKindAliases)
}

// completeEnum offers an enum's short names for shell completion of flag.
func completeEnum[E protoEnum](cmd *cobra.Command, flag string) {
	var zero E
	completeWords(cmd, flag, enumChoices(zero.Descriptor()))
}

func completeWords(cmd *cobra.Command, flag string, words []string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	})
}

// ---- times ----

const dateLayout = "2006-01-02"

// parseTime reads RFC 3339 or a date (00:00 UTC that day); "" is no time (nil).
func parseTime(s string) (*timestamppb.Timestamp, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return timestamppb.New(t), nil
	}
	if t, err := time.ParseInLocation(dateLayout, s, time.UTC); err == nil {
		return timestamppb.New(t), nil
	}
	return nil, fmt.Errorf("%q is not a time: use RFC 3339 (2025-03-01T14:00:00Z) or a date (2025-03-01, 00:00 UTC)", s)
}

func timeFlag(flag, s string) (*timestamppb.Timestamp, error) {
	t, err := parseTime(s)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return t, nil
}

// asOf is a time-travel --at: a log position (digits) or a moment (RFC 3339
// or a date), as the Get requests' as_of_position and as_of_time take it.
type asOf struct {
	Position uint64
	Time     *timestamppb.Timestamp
}

// parseAsOf reads --at ("" is now).
func parseAsOf(s string) (asOf, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return asOf{}, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		if n == 0 {
			return asOf{}, errors.New("--at 0: log positions start at 1")
		}
		return asOf{Position: n}, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return asOf{}, fmt.Errorf("--at %q: a log position (a number) or a moment (RFC 3339 or a date): %w", s, err)
	}
	return asOf{Time: t}, nil
}

// set reports whether --at named a past state.
func (a asOf) set() bool { return a.Position > 0 || a.Time != nil }

// String is the --at as the output says it.
func (a asOf) String() string {
	if a.Time != nil {
		return "at " + a.Time.AsTime().UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("at log position %d", a.Position)
}

// asOfUsage is the --at flag's help.
const asOfUsage = "show it as it was then: a log position (a number) or a moment (RFC 3339 or a date)"

// ---- changes ----

// linkRe is what may follow '@' in --change: a URL, "#123" or a ticket key
// like "PM-123". Anything else (e.g. user@example.com) stays in the summary.
var linkRe = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9+.-]*://\S+|#\d+|[A-Z][A-Z0-9]*-\d+)$`)

// parseChange reads --change "kind:summary[@link]". The summary may contain
// ':' and '@'; the link is what follows the first '@' whose remainder is a
// URL, "#123" or a ticket key such as PM-123.
func parseChange(s string) (*releasev1.Change, error) {
	kindText, rest, ok := strings.Cut(s, ":")
	if !ok {
		return nil, fmt.Errorf("--change %q: use kind:summary[@link], e.g. --change 'feature:Faster search@https://example.com/pr/12'", s)
	}
	kind, err := parseChangeKind(kindText)
	if err != nil {
		return nil, fmt.Errorf("--change %q: %w", s, err)
	}
	summary, link := splitLink(rest)
	if summary == "" {
		return nil, fmt.Errorf("--change %q: the summary is empty", s)
	}
	return &releasev1.Change{Kind: kind, Summary: summary, Link: link}, nil
}

func splitLink(s string) (summary, link string) {
	for i := 0; i < len(s); i++ {
		if s[i] != '@' {
			continue
		}
		if cand := strings.TrimSpace(s[i+1:]); linkRe.MatchString(cand) {
			return strings.TrimSpace(s[:i]), cand
		}
	}
	return strings.TrimSpace(s), ""
}

// normStrategy writes a strategy the way the server names them
// (rolling-update, blue-green, ...): lower case with '-'.
func normStrategy(s string) string {
	return strings.NewReplacer("_", "-", " ", "-").Replace(strings.ToLower(strings.TrimSpace(s)))
}

// strategies are the deployment strategies (for help and completion).
var strategies = enumtext.Names[deployv1.DeploymentStrategy]()

// strategyRequest sets the strategy of a promotion: the typed field for a
// strategy this build knows, else the text, so the server explains the mistake.
func strategyRequest(req *releasev1.PromoteRequest, text string) {
	if v, ok := enumtext.Parse[deployv1.DeploymentStrategy](normStrategy(text)); ok {
		req.StrategyType = v
	} else {
		req.Strategy = normStrategy(text)
	}
}
