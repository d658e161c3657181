package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Flag help shared by several commands.
var (
	kindHelp = "feature, bug_fix, improvement, security, migration or breaking (feat and fix work too)"
	envHelp  = "target environment; repeat or separate with commas, in any order (see 'floe release envs')"
)

// releaseOut prints a mutating RPC's result: the response as JSON with -o
// json, else the confirmation line, or the whole release when line is "".
func releaseOut(g *globals, resp proto.Message, r *releasev1.Release, line string) error {
	if g.output == "json" {
		return printJSON(g.out, resp)
	}
	if line == "" {
		return printRelease(g.out, r)
	}
	_, err := fmt.Fprintln(g.out, line)
	return err
}

// envFromRef is env, or when it is empty the environment a reference
// PRODUCT@VERSION/ENV names (refs.go).
func envFromRef(arg, env string) string {
	if r, ok := parseRef(arg); ok && env == "" {
		return r.env
	}
	return env
}

// firstEnv is the first environment a release targets (development when it names none).
func firstEnv(r *releasev1.Release) string {
	if envs := r.GetTargetEnvironments(); len(envs) > 0 {
		return envs[0]
	}
	return "development"
}

// planFlags are the editable plan fields shared by create and update.
type planFlags struct {
	title, description, rollbackPlan, testingPlan string
	windowStart, windowEnd                        string
	envs, approvers                               []string
}

func (p *planFlags) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.title, "title", "", "one-line title")
	f.StringVar(&p.description, "description", "", "longer description (changing it voids approvals)")
	f.StringSliceVar(&p.envs, "env", nil, envHelp)
	f.StringSliceVar(&p.approvers, "approver", nil, "principal asked to approve (informational); repeat or separate with commas")
	f.StringVar(&p.rollbackPlan, "rollback-plan", "", "how to roll back")
	f.StringVar(&p.testingPlan, "testing-plan", "", "how the release is tested")
	f.StringVar(&p.windowStart, "window-start", "", "start of the planned window: RFC 3339 or YYYY-MM-DD")
	f.StringVar(&p.windowEnd, "window-end", "", "end of the planned window: RFC 3339 or YYYY-MM-DD")
}

// ---- create ----

func newReleaseCreateCmd(g *globals) *cobra.Command {
	var (
		rid                   requestID
		plan                  planFlags
		version, typ, product string
		changeSpecs           []string
	)
	cmd := &cobra.Command{
		Use:   "create --product NAME --version X.Y.Z --type major|minor|patch|hotfix --title TEXT",
		Short: "Plan a release",
		Long: `create plans a release of a product. The product is required: 1-32 lower case
letters, digits or '-' (releases planned before it was required belong to
"default"). The version must be semver, greater than every earlier release of
the product, and match the type (major X.0.0, minor x.Y.0, patch and hotfix
x.y.Z). Target environments default to development, staging, production.

--change adds a change: kind:summary[@link], repeatable, e.g.
  --change 'feature:Faster search@https://example.com/pr/12'
  --change 'bug_fix:Login fails for user@example.com@PM-123'
The link is what follows the first '@' that starts a URL, "#123" or a ticket key
like PM-123; any other '@' stays in the summary. Use add-change --link for
anything else.`,
		Example: `  floe release create --product penguinmails --version 2.1.0 --type minor --title "Search" \
    --change 'feature:Faster search@https://example.com/pr/12' --env development --env staging`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := errors.Join(
				required("product", product, `the product the release belongs to, e.g. --product penguinmails (releases created before it was required belong to "default")`),
				required("version", version, "the release's semver, e.g. 2.1.0"), required("title", plan.title, "")); err != nil {
				return err
			}
			t, err := enumFlag[releasev1.ReleaseType]("type", typ, nil)
			if err != nil {
				return err
			}
			req := &releasev1.CreateReleaseRequest{
				Product: strings.TrimSpace(product), Version: strings.TrimSpace(version), Type: t, Title: plan.title,
				Description: plan.description, TargetEnvironments: nonEmpty(plan.envs), Approvers: nonEmpty(plan.approvers),
				RollbackPlan: plan.rollbackPlan, TestingPlan: plan.testingPlan,
			}
			for _, s := range changeSpecs {
				c, err := parseChange(s)
				if err != nil {
					return err
				}
				req.Changes = append(req.Changes, c)
			}
			if req.Schedule, err = scheduleFlags(plan.windowStart, plan.windowEnd); err != nil {
				return err
			}
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				req.RequestId = id
				resp, err := c.CreateRelease(ctx, req)
				if err != nil {
					return err
				}
				if err := releaseOut(g, resp, resp.GetRelease(), ""); err != nil || g.output == "json" {
					return err
				}
				r := resp.GetRelease()
				ref := r.GetProduct() + "@" + r.GetVersion()
				_, err = fmt.Fprintf(g.errOut, "created release %s: later commands take its ID or %s, e.g. floe release promote %s --env %s\n",
					r.GetId(), ref, ref, firstEnv(r))
				return err
			})
		},
	}
	rid.bind(cmd)
	plan.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&version, "version", "", "semver of the release, e.g. 2.1.0 (required)")
	f.StringVar(&typ, "type", "", "major, minor, patch or hotfix (required)")
	f.StringVar(&product, "product", "", "product the release belongs to: 1-32 lower case letters, digits or '-' (required)")
	f.StringArrayVar(&changeSpecs, "change", nil, "a change, kind:summary[@link]; repeatable; kind is "+kindHelp)
	completeEnum[releasev1.ReleaseType](cmd, "type")
	return cmd
}

// scheduleFlags builds a schedule from the window flags; nil when both are empty.
func scheduleFlags(start, end string) (*releasev1.Schedule, error) {
	s, err := timeFlag("window-start", start)
	if err != nil {
		return nil, err
	}
	e, err := timeFlag("window-end", end)
	if err != nil {
		return nil, err
	}
	if s == nil && e == nil {
		return nil, nil
	}
	if s != nil && e != nil && e.AsTime().Before(s.AsTime()) {
		return nil, fmt.Errorf("--window-end %s is before --window-start %s", fmtTime(e), fmtTime(s))
	}
	return &releasev1.Schedule{WindowStart: s, WindowEnd: e}, nil
}

// ---- update ----

func newReleaseUpdateCmd(g *globals) *cobra.Command {
	var (
		rid      requestID
		plan     planFlags
		expected uint64
	)
	cmd := &cobra.Command{
		Use:   "update ID [--title …] [--description …] [--env …] …",
		Short: "Edit a planned release (only the fields you pass change)",
		Long: `update edits a release that has not been promoted yet.

The UpdateRelease RPC replaces every editable field with what it is sent. So
update first reads the release (GetRelease), overlays only the flags you pass,
and sends the result: fields you do not mention keep their current values.
To clear a field pass an empty value (--description '', --window-end '',
--approver ''); the target environments cannot be emptied.

By default the update is sent with --expected-version set to the aggregate
version just read, so a concurrent edit makes it fail (ABORTED, "reload and
retry") instead of being silently overwritten. Pass --expected-version N from
'floe release get' to guard a longer read-modify-write, or 0 to disable the check.

Changing the title or description voids the approvals collected so far.`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			changed := cmd.Flags().Changed
			if !slices.ContainsFunc(updateFlagNames, changed) {
				return fmt.Errorf("nothing to update: pass at least one of --%s", strings.Join(updateFlagNames, ", --"))
			}
			if changed("title") {
				if err := required("title", plan.title, "a release cannot have an empty title"); err != nil {
					return err
				}
			}
			start, err := timeFlag("window-start", plan.windowStart)
			if err != nil {
				return err
			}
			end, err := timeFlag("window-end", plan.windowEnd)
			if err != nil {
				return err
			}
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				cur, err := c.GetRelease(ctx, &releasev1.GetReleaseRequest{ReleaseId: args[0]})
				if err != nil {
					return err
				}
				req := overlayUpdate(cur.GetRelease(), &plan, start, end, changed)
				req.RequestId = id
				if changed("expected-version") {
					req.ExpectedVersion = expected
				}
				resp, err := c.UpdateRelease(ctx, req)
				if err != nil {
					return err
				}
				return releaseOut(g, resp, resp.GetRelease(), "")
			})
		},
	}
	rid.bind(cmd)
	plan.bind(cmd)
	cmd.Flags().Uint64Var(&expected, "expected-version", 0, "fail unless the release is at this aggregate version (default: the version just read; 0: no check)")
	return cmd
}

// updateFlagNames are the fields update can change.
var updateFlagNames = []string{"title", "description", "env", "approver", "rollback-plan", "testing-plan", "window-start", "window-end"}

// overlayUpdate builds an UpdateReleaseRequest from the release as read,
// replacing only the fields whose flags were set (changed reports that). Its
// ExpectedVersion is the aggregate version read.
func overlayUpdate(r *releasev1.Release, p *planFlags, start, end *timestamppb.Timestamp, changed func(string) bool) *releasev1.UpdateReleaseRequest {
	req := &releasev1.UpdateReleaseRequest{
		ReleaseId: r.GetId(), ExpectedVersion: r.GetAggregateVersion(),
		Title: r.GetTitle(), Description: r.GetDescription(),
		TargetEnvironments: slices.Clone(r.GetTargetEnvironments()), Approvers: slices.Clone(r.GetApprovers()),
		RollbackPlan: r.GetRollbackPlan(), TestingPlan: r.GetTestingPlan(),
	}
	if changed("title") {
		req.Title = p.title
	}
	if changed("description") {
		req.Description = p.description
	}
	if changed("env") {
		if envs := nonEmpty(p.envs); len(envs) > 0 {
			req.TargetEnvironments = envs
		}
	}
	if changed("approver") {
		req.Approvers = nonEmpty(p.approvers)
	}
	if changed("rollback-plan") {
		req.RollbackPlan = p.rollbackPlan
	}
	if changed("testing-plan") {
		req.TestingPlan = p.testingPlan
	}
	ws, we := r.GetSchedule().GetWindowStart(), r.GetSchedule().GetWindowEnd()
	if changed("window-start") {
		ws = start
	}
	if changed("window-end") {
		we = end
	}
	if ws != nil || we != nil {
		req.Schedule = &releasev1.Schedule{WindowStart: ws, WindowEnd: we}
	}
	return req
}

// ---- add-change ----

func newReleaseAddChangeCmd(g *globals) *cobra.Command {
	var (
		rid                         requestID
		kind, summary, link, author string
	)
	cmd := &cobra.Command{
		Use:   "add-change ID --kind KIND --summary TEXT [--link URL] [--author NAME]",
		Short: "Add a change to a planned release (voids its approvals)",
		Args:  positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := enumFlag("kind", kind, changeKindAliases)
			if err != nil {
				return err
			}
			if err := required("summary", summary, "one line for the release notes"); err != nil {
				return err
			}
			change := &releasev1.Change{Kind: k, Summary: strings.TrimSpace(summary), Link: strings.TrimSpace(link), Author: strings.TrimSpace(author)}
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				resp, err := c.AddChange(ctx, &releasev1.AddChangeRequest{RequestId: id, ReleaseId: args[0], Change: change})
				if err != nil {
					return err
				}
				r := resp.GetRelease()
				added := change
				for _, c := range slices.Backward(r.GetChanges()) {
					if c.GetKind() == change.GetKind() && c.GetSummary() == change.GetSummary() {
						added = c
						break
					}
				}
				return releaseOut(g, resp, r, fmt.Sprintf("added change %s (%s) to release %s; content revision %d",
					orDash(added.GetId()), enumName(added.GetKind()), label(r), r.GetContentRevision()))
			})
		},
	}
	rid.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", kindHelp+" (required)")
	f.StringVar(&summary, "summary", "", "one line for the release notes (required)")
	f.StringVar(&link, "link", "", "ticket or pull-request link")
	f.StringVar(&author, "author", "", "who made the change (free text)")
	completeEnum[releasev1.ChangeKind](cmd, "kind")
	return cmd
}

// ---- approve, reject, promote, cancel ----

// envLine is "staging: approved, approvals 1/2" for confirmation lines.
func envLine(r *releasev1.Release, env string) string {
	e := envState(r, env)
	if e == nil {
		return fmt.Sprintf("overall status %s", enumName(r.GetStatus()))
	}
	return fmt.Sprintf("%s is %s, approvals %d/%d", env, enumName(e.GetStatus()), len(e.GetApprovals()), e.GetApprovalsRequired())
}

func newReleaseApproveCmd(g *globals) *cobra.Command {
	var rid requestID
	var env, comment string
	cmd := &cobra.Command{
		Use:   "approve ID --env ENV [--comment TEXT]",
		Short: "Approve a release for an environment",
		Long: `approve records your approval of the release for one environment. You need
release.approve in that environment; separation of duties applies (e.g. the
release's author may not be allowed to approve it). Approvals count only at the
current content revision: a later edit of the content voids them.`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			env = envFromRef(args[0], env)
			if err := required("env", env, "the environment you approve the release for"); err != nil {
				return err
			}
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				resp, err := c.Approve(ctx, &releasev1.ApproveRequest{RequestId: id, ReleaseId: args[0], Environment: strings.TrimSpace(env), Comment: comment})
				if err != nil {
					return err
				}
				r := resp.GetRelease()
				return releaseOut(g, resp, r, fmt.Sprintf("approved release %s for %s: %s", label(r), env, envLine(r, env)))
			})
		},
	}
	rid.bind(cmd)
	cmd.Flags().StringVar(&env, "env", "", "environment (required)")
	cmd.Flags().StringVar(&comment, "comment", "", "comment recorded with the approval")
	return cmd
}

func newReleaseRequestApprovalCmd(g *globals) *cobra.Command {
	var rid requestID
	var env, note string
	cmd := &cobra.Command{
		Use:   "request-approval ID --env ENV [--note TEXT]",
		Short: "Ask an environment's approvers to decide on a release",
		Long: `request-approval records that the release awaits the approvals ENV's policy
requires (ApprovalRequested, with what it needs and has). The notifier tells the
approvers; in Slack, with Approve / Reject buttons acting as the clicking user.
It needs release.promote in ENV, and is refused where ENV requires no approvals
or the release is already approved there.

  floe release request-approval 01JX… --env production --note "soak passed in staging"`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			env = envFromRef(args[0], env)
			if err := required("env", env, "the environment whose approvers you ask"); err != nil {
				return err
			}
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				resp, err := c.RequestApproval(ctx, &releasev1.RequestApprovalRequest{RequestId: id, ReleaseId: args[0], Environment: strings.TrimSpace(env), Note: note})
				if err != nil {
					return err
				}
				r := resp.GetRelease()
				return releaseOut(g, resp, r, fmt.Sprintf("asked the approvers of %s to decide on release %s: %s", env, label(r), envLine(r, env)))
			})
		},
	}
	rid.bind(cmd)
	cmd.Flags().StringVar(&env, "env", "", "environment (required)")
	cmd.Flags().StringVar(&note, "note", "", "a note for the approvers")
	return cmd
}

func newReleaseRejectCmd(g *globals) *cobra.Command {
	var rid requestID
	var env, reason string
	cmd := &cobra.Command{
		Use:   "reject ID --env ENV --reason TEXT",
		Short: "Refuse a release for an environment, with a reason",
		Args:  positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			env = envFromRef(args[0], env)
			if err := errors.Join(
				required("env", env, "the environment you refuse the release for"),
				required("reason", reason, "say why the release is refused; it is recorded and shown to everyone"),
			); err != nil {
				return err
			}
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				resp, err := c.Reject(ctx, &releasev1.RejectRequest{RequestId: id, ReleaseId: args[0], Environment: strings.TrimSpace(env), Reason: reason})
				if err != nil {
					return err
				}
				r := resp.GetRelease()
				return releaseOut(g, resp, r, fmt.Sprintf("rejected release %s for %s: %s", label(r), env, envLine(r, env)))
			})
		},
	}
	rid.bind(cmd)
	cmd.Flags().StringVar(&env, "env", "", "environment (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

func newReleasePromoteCmd(g *globals) *cobra.Command {
	var rid requestID
	var env, strategy string
	cmd := &cobra.Command{
		Use:   "promote ID --env ENV [--strategy STRATEGY]",
		Short: "Ask for the release to be deployed to an environment",
		Long: `promote asks for the release to be deployed to ENV. The server checks promotion
order, approvals, rejections and prerequisites, and a refusal lists every reason.
--strategy is one of rolling-update, blue-green, canary, feature-flag or big-bang
(default: the environment's configured strategy).`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			env = envFromRef(args[0], env)
			if err := required("env", env, "the environment to deploy to"); err != nil {
				return err
			}
			req := &releasev1.PromoteRequest{ReleaseId: args[0], Environment: strings.TrimSpace(env)}
			strategyRequest(req, strategy)
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				req.RequestId = id
				resp, err := c.Promote(ctx, req)
				if err != nil {
					return err
				}
				r := resp.GetRelease()
				line := fmt.Sprintf("promotion of %s to %s requested", label(r), env)
				if e := envState(r, env); e != nil {
					line += fmt.Sprintf(" (strategy %s): %s is %s", orDash(e.GetStrategy()), env, enumName(e.GetStatus()))
				}
				return releaseOut(g, resp, r, line+"; follow it with 'floe release watch "+r.GetId()+"'")
			})
		},
	}
	rid.bind(cmd)
	cmd.Flags().StringVar(&env, "env", "", "environment (required)")
	cmd.Flags().StringVar(&strategy, "strategy", "", "deployment strategy: "+strings.Join(strategies, ", ")+" (default: the environment's)")
	completeWords(cmd, "strategy", strategies)
	return cmd
}

func newReleaseCancelCmd(g *globals) *cobra.Command {
	var rid requestID
	var reason string
	cmd := &cobra.Command{
		Use:   "cancel ID --reason TEXT",
		Short: "Cancel a release that is not deploying",
		Args:  positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("reason", reason, "say why the release is cancelled"); err != nil {
				return err
			}
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				resp, err := c.CancelRelease(ctx, &releasev1.CancelReleaseRequest{RequestId: id, ReleaseId: args[0], Reason: reason})
				if err != nil {
					return err
				}
				r := resp.GetRelease()
				return releaseOut(g, resp, r, fmt.Sprintf("release %s: %s", label(r), enumName(r.GetStatus())))
			})
		},
	}
	rid.bind(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

// ---- prerequisites ----

func newReleasePrereqCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prereq",
		Short: "Add and update prerequisites (pending ones block promotion)",
	}
	cmd.AddCommand(newReleasePrereqAddCmd(g), newReleasePrereqUpdateCmd(g))
	return cmd
}

func newReleasePrereqAddCmd(g *globals) *cobra.Command {
	var rid requestID
	var typ, description, owner, deadline, env string
	cmd := &cobra.Command{
		Use:   "add ID --type TYPE --description TEXT [--owner WHO] [--deadline TIME] [--env ENV]",
		Short: "Add a pending prerequisite that blocks promotion",
		Long: `add adds a pending prerequisite. Until it is completed it blocks promotion to
--env, or every promotion when --env is not given. A pending prerequisite past
its --deadline shows as OVERDUE.`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := enumFlag[releasev1.PrerequisiteType]("type", typ, nil)
			if err != nil {
				return err
			}
			if err := required("description", description, "what has to be done"); err != nil {
				return err
			}
			dl, err := timeFlag("deadline", deadline)
			if err != nil {
				return err
			}
			req := &releasev1.AddPrerequisiteRequest{ReleaseId: args[0], Type: t, Description: description,
				Owner: strings.TrimSpace(owner), Deadline: dl, Environment: strings.TrimSpace(env)}
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				req.RequestId = id
				resp, err := c.AddPrerequisite(ctx, req)
				if err != nil {
					return err
				}
				r := resp.GetRelease()
				pid := "-"
				for _, p := range slices.Backward(r.GetPrerequisites()) {
					if p.GetType() == t && strings.TrimSpace(p.GetDescription()) == strings.TrimSpace(description) {
						pid = p.GetId()
						break
					}
				}
				return releaseOut(g, resp, r, fmt.Sprintf("added prerequisite %s to release %s", pid, label(r)))
			})
		},
	}
	rid.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&typ, "type", "", "database, infrastructure, third_party or compliance (required)")
	f.StringVar(&description, "description", "", "what has to be done (required)")
	f.StringVar(&owner, "owner", "", "who is responsible (a principal id or a team)")
	f.StringVar(&deadline, "deadline", "", "when it must be done: RFC 3339 or YYYY-MM-DD")
	f.StringVar(&env, "env", "", "environment it gates (default: every promotion)")
	completeEnum[releasev1.PrerequisiteType](cmd, "type")
	return cmd
}

func newReleasePrereqUpdateCmd(g *globals) *cobra.Command {
	var rid requestID
	var st, owner, deadline, note string
	cmd := &cobra.Command{
		Use:   "update ID PREREQ_ID [--status STATUS] [--owner WHO] [--deadline TIME] [--note TEXT]",
		Short: "Change a prerequisite's status, owner or deadline",
		Long: `update changes a prerequisite (PREREQ_ID is p1, p2, ... as 'floe release get'
shows). Flags you do not pass keep their value; an owner or deadline cannot be
cleared, only replaced.`,
		Args: positional("ID", "PREREQ_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if !fl.Changed("status") && !fl.Changed("owner") && !fl.Changed("deadline") && !fl.Changed("note") {
				return errors.New("nothing to update: pass at least one of --status, --owner, --deadline, --note")
			}
			req := &releasev1.UpdatePrerequisiteRequest{ReleaseId: args[0], PrerequisiteId: args[1], Owner: strings.TrimSpace(owner), Note: note}
			var err error
			if fl.Changed("status") {
				if req.Status, err = enumFlag[releasev1.PrerequisiteStatus]("status", st, nil); err != nil {
					return err
				}
			}
			if fl.Changed("owner") && req.Owner == "" {
				return errors.New("--owner: an owner cannot be cleared, only replaced")
			}
			if fl.Changed("deadline") {
				if req.Deadline, err = timeFlag("deadline", deadline); err != nil {
					return err
				}
				if req.Deadline == nil {
					return errors.New("--deadline: a deadline cannot be cleared, only replaced")
				}
			}
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				req.RequestId = id
				resp, err := c.UpdatePrerequisite(ctx, req)
				if err != nil {
					return err
				}
				r := resp.GetRelease()
				line := fmt.Sprintf("prerequisite %s of release %s updated", args[1], label(r))
				for _, p := range r.GetPrerequisites() {
					if p.GetId() == args[1] {
						line = fmt.Sprintf("prerequisite %s of release %s: %s; %s", p.GetId(), label(r), prereqStatus(p), prereqDetail(p))
					}
				}
				return releaseOut(g, resp, r, line)
			})
		},
	}
	rid.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&st, "status", "", "pending, completed or failed")
	f.StringVar(&owner, "owner", "", "new owner")
	f.StringVar(&deadline, "deadline", "", "new deadline: RFC 3339 or YYYY-MM-DD")
	f.StringVar(&note, "note", "", "note recorded with the update")
	completeEnum[releasev1.PrerequisiteStatus](cmd, "status")
	return cmd
}

// ---- risk ----

func newReleaseRiskCmd(g *globals) *cobra.Command {
	var rid requestID
	var impact, likelihood string
	var mitigation, contingency []string
	cmd := &cobra.Command{
		Use:   "risk ID --impact LEVEL --likelihood LEVEL [--mitigation TEXT]… [--contingency TEXT]…",
		Short: "Set the risk assessment (it can raise the approvals needed)",
		Long: `risk sets the release's risk assessment, replacing any earlier one (pass every
--mitigation and --contingency again). Higher risk adds approvals in the
environments that need approval.`,
		Args: positional("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			im, err := enumFlag[releasev1.RiskImpact]("impact", impact, nil)
			if err != nil {
				return err
			}
			li, err := enumFlag[releasev1.RiskLikelihood]("likelihood", likelihood, nil)
			if err != nil {
				return err
			}
			req := &releasev1.SetRiskAssessmentRequest{ReleaseId: args[0], Impact: im, Likelihood: li,
				Mitigation: nonEmpty(mitigation), Contingency: nonEmpty(contingency)}
			return g.mutate(cmd.Context(), &rid, func(ctx context.Context, c releasev1.ReleaseServiceClient, id string) error {
				req.RequestId = id
				resp, err := c.SetRiskAssessment(ctx, req)
				if err != nil {
					return err
				}
				r := resp.GetRelease()
				return releaseOut(g, resp, r, fmt.Sprintf("risk of release %s: %s", label(r), riskLine(r.GetRisk())))
			})
		},
	}
	rid.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&impact, "impact", "", "low, medium, high or critical (required)")
	f.StringVar(&likelihood, "likelihood", "", "low, medium or high (required)")
	f.StringArrayVar(&mitigation, "mitigation", nil, "a mitigation; repeatable")
	f.StringArrayVar(&contingency, "contingency", nil, "a contingency; repeatable")
	completeEnum[releasev1.RiskImpact](cmd, "impact")
	completeEnum[releasev1.RiskLikelihood](cmd, "likelihood")
	return cmd
}
