package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
)

// maxHistoryPageSize is the most versions ListConfigVersions returns per call.
const maxHistoryPageSize = 200

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Environment configuration: versioned JSON documents, diff, history, promotion, schema",
		Long: `Each environment's configuration is a JSON document kept in versions (1, 2, …):
the guide's EnvironmentConfig (database, cache, storage, email, monitoring,
security, features) plus sections of your own. Every change makes a new
version with who, when and why; the server validates each document against
its built-in schema, the environment's own JSON Schema (floe config schema)
and a leak scanner. Credentials are never values in a document, only
references to secrets: secret://<name> (see floe secrets) or
vault://<path>#<key>.

Reading needs config.read in the environment, changing it config.write
(promote: config.read in the source, config.write in the target).

Where the environments' policy requires approvals (the release service's
environments file: required_approvals and approver_roles; built in: staging
one, production two, dr one), set, patch and promote make a proposal instead:
it becomes the next version when enough holders of an approver role there,
other than its proposer, approve it (floe config approve), and is dropped by a
rejection (floe config reject; the proposer's own is a withdrawal). One
proposal is pending at a time.`,
	}
	cmd.AddCommand(newConfigGetCmd(g), newConfigSetCmd(g), newConfigPatchCmd(g), newConfigDiffCmd(g),
		newConfigHistoryCmd(g), newConfigPromoteCmd(g), newConfigSchemaCmd(g),
		newConfigProposalCmd(g), newConfigApproveCmd(g), newConfigRejectCmd(g))
	return cmd
}

func configClient(conn *grpc.ClientConn) configv1.ConfigServiceClient {
	return configv1.NewConfigServiceClient(conn)
}

func newConfigGetCmd(g *globals) *cobra.Command {
	var version uint64
	cmd := &cobra.Command{
		Use:   "get ENV [--version N]",
		Short: "Print an environment's configuration document (the current version, or --version N)",
		Long: `get prints the document as indented JSON on stdout and its version, digest,
actor, time, source and reason on stderr, so that stdout can be piped (to jq,
or to a file for floe config set). -o json prints the version with its
metadata as one JSON object (the document as a string in "document").

  floe config get staging
  floe config get production --version 3 > production-v3.json
  floe config get production -o json`,
		Args: positional("ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := configClient(conn).GetConfig(ctx, &configv1.GetConfigRequest{Environment: args[0], Version: version})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp.GetConfig())
				}
				if p := resp.GetPending(); p != nil {
					fmt.Fprintf(g.errOut, "PENDING\tproposal %d by %s, %d of %d approval(s): floe config proposal %s\n", p.GetProposal(),
						orDash(p.GetProposedBy()), len(p.GetApprovals()), p.GetRequiredApprovals(), p.GetEnvironment())
				}
				if resp.GetConfig() == nil {
					return fmt.Errorf("%s has no configuration version yet (its first is proposed)", args[0])
				}
				if err := printConfigHeader(g.errOut, resp.GetConfig()); err != nil {
					return err
				}
				return printJSONText(g.out, resp.GetConfig().GetDocument())
			})
		},
	}
	cmd.Flags().Uint64Var(&version, "version", 0, "the version (default: the current one)")
	return cmd
}

// printConfigHeader writes a version's metadata, one field a line.
func printConfigHeader(w io.Writer, c *configv1.ConfigVersion) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "ENVIRONMENT\t%s\n", c.GetEnvironment())
	fmt.Fprintf(tw, "VERSION\t%d\n", c.GetVersion())
	fmt.Fprintf(tw, "DIGEST\t%s\n", orDash(c.GetDigest()))
	fmt.Fprintf(tw, "ACTOR\t%s\n", orDash(c.GetActor()))
	fmt.Fprintf(tw, "TIME\t%s\n", fmtTime(c.GetTime()))
	fmt.Fprintf(tw, "SOURCE\t%s\n", configSource(c))
	fmt.Fprintf(tw, "REASON\t%s\n", orDash(oneLine(c.GetReason(), 0)))
	if c.GetSchemaDigest() != "" {
		fmt.Fprintf(tw, "SCHEMA\t%s\n", c.GetSchemaDigest())
	}
	return tw.Flush()
}

// printJSONText writes a JSON text indented; text that is not JSON is written as it is.
func printJSONText(w io.Writer, text string) error {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(text), "", "  "); err != nil {
		b.Reset()
		b.WriteString(text)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// configSource says how a version was made: set, patch, or promotion from ENV@V.
func configSource(c *configv1.ConfigVersion) string {
	if c.GetSource() == configv1.ConfigSource_CONFIG_SOURCE_UNSPECIFIED {
		return "-"
	}
	s := enumWord(c.GetSource().String(), "CONFIG_SOURCE_")
	if c.GetSource() == configv1.ConfigSource_CONFIG_SOURCE_PROMOTION && c.GetFromEnvironment() != "" {
		s += fmt.Sprintf(" from %s@%d", c.GetFromEnvironment(), c.GetFromVersion())
	}
	return s
}

// shortDigest cuts "sha256:<hex>" to 12 hex digits, enough to tell versions apart.
func shortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok {
		algo, hex = "", d
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	if algo == "" {
		return orDash(hex)
	}
	return algo + ":" + hex
}

// printConfigMade writes the one-line summary of a version a command made.
func (g *globals) printConfigMade(c *configv1.ConfigVersion) error {
	_, err := fmt.Fprintf(g.out, "%s: version %d (%s, %s) by %s\n", c.GetEnvironment(), c.GetVersion(), configSource(c), shortDigest(c.GetDigest()), orDash(c.GetActor()))
	return err
}

// printConfigChange writes what a change made: a version, or (in an
// environment whose policy requires approvals) a proposal and how to
// approve it. -o json prints the one it made.
func (g *globals) printConfigChange(c *configv1.ConfigVersion, p *configv1.ConfigProposal) error {
	if p == nil {
		if g.output == "json" {
			return printJSON(g.out, c)
		}
		return g.printConfigMade(c)
	}
	if g.output == "json" {
		return printJSON(g.out, p)
	}
	return g.printProposal(p)
}

// printProposal writes the one-line summary of a proposal and what comes next.
func (g *globals) printProposal(p *configv1.ConfigProposal) error {
	src := configSource(&configv1.ConfigVersion{Source: p.GetSource(), FromEnvironment: p.GetFromEnvironment(), FromVersion: p.GetFromVersion()})
	status := enumWord(p.GetStatus().String(), "CONFIG_PROPOSAL_STATUS_")
	fmt.Fprintf(g.out, "%s: proposal %d %s (%s, %s, %d change(s)) by %s, %d of %d approval(s)\n", p.GetEnvironment(), p.GetProposal(), status, src,
		shortDigest(p.GetDigest()), len(p.GetChanges()), orDash(p.GetProposedBy()), len(p.GetApprovals()), p.GetRequiredApprovals())
	switch p.GetStatus() {
	case configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_PENDING:
		fmt.Fprintf(g.errOut, "it becomes version %d when approved by holders of an approver role in %s other than %s:\n  floe config approve %s %d\n",
			p.GetVersion(), p.GetEnvironment(), orDash(p.GetProposedBy()), p.GetEnvironment(), p.GetProposal())
	case configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_REJECTED, configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_WITHDRAWN:
		fmt.Fprintf(g.out, "by %s: %s\n", orDash(p.GetRejectedBy()), oneLine(p.GetRejectionReason(), 0))
	}
	return nil
}

// readDocument reads a JSON document from a file or stdin (-), refusing an empty one.
func readDocument(cmd *cobra.Command, file, what string) (string, error) {
	data, err := readFileOrIn(cmd, file)
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return "", fmt.Errorf("%s: the %s is empty", fileName(file), what)
	}
	return string(data), nil
}

// readFileOrIn reads path, or the command's stdin for "-" (or "").
func readFileOrIn(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "-" || path == "" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(path)
}

func fileName(path string) string {
	if path == "-" || path == "" {
		return "stdin"
	}
	return path
}

func newConfigSetCmd(g *globals) *cobra.Command {
	var file, reason string
	var expected uint64
	cmd := &cobra.Command{
		Use:   "set ENV --file FILE|- --reason TEXT [--expected-version N]",
		Short: "Replace an environment's configuration document (a new version)",
		Long: `set stores the whole document as the environment's next version. The server
refuses a document that breaks the built-in schema, the environment's schema
or holds what looks like a credential (store it with floe secrets put and
refer to it as secret://<name>); every problem is listed with its JSON path.
--expected-version refuses the change unless the current version is N, so
that an edit made from 'floe config get' does not overwrite someone else's.

  floe config set staging --file staging.json --reason "pool size for the load test"
  floe config get staging | jq '.cache.ttlSeconds = 600' | floe config set staging --file - --reason "longer TTL" --expected-version 4`,
		Args: positional("ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("reason", reason, "say why the configuration changes (kept in its history)"); err != nil {
				return err
			}
			doc, err := readDocument(cmd, file, "document")
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := configClient(conn).SetConfig(ctx, &configv1.SetConfigRequest{Environment: args[0], Document: doc, Reason: reason, ExpectedVersion: expected})
				if err != nil {
					return err
				}
				return g.printConfigChange(resp.GetConfig(), resp.GetProposal())
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "-", "the document, a JSON object (- for stdin)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().Uint64Var(&expected, "expected-version", 0, "refuse unless the current version is this one")
	return cmd
}

func newConfigPatchCmd(g *globals) *cobra.Command {
	var file, reason string
	var expected uint64
	cmd := &cobra.Command{
		Use:   "patch ENV --file FILE|- --reason TEXT [--expected-version N]",
		Short: "Change part of an environment's configuration with a JSON merge patch (RFC 7396)",
		Long: `patch applies a JSON merge patch (RFC 7396) to the current document and stores
the result as a new version: objects merge key by key, null removes a key,
any other value (arrays included) replaces what was there.

  floe config patch staging --file pool.json --reason "pool size for the load test"
  echo '{"database":{"connectionPool":{"max":20}}}' | floe config patch staging --file - --reason "more connections"
  echo '{"features":{"darkMode":null}}' | floe config patch production --file - --reason "dark mode shipped"`,
		Args: positional("ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("reason", reason, "say why the configuration changes (kept in its history)"); err != nil {
				return err
			}
			patch, err := readDocument(cmd, file, "patch")
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := configClient(conn).PatchConfig(ctx, &configv1.PatchConfigRequest{Environment: args[0], Patch: patch, Reason: reason, ExpectedVersion: expected})
				if err != nil {
					return err
				}
				return g.printConfigChange(resp.GetConfig(), resp.GetProposal())
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "-", "the merge patch, a JSON object (- for stdin)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().Uint64Var(&expected, "expected-version", 0, "refuse unless the current version is this one")
	return cmd
}

// parseConfigRef parses ENV or ENV@VERSION (no version: the current one).
func parseConfigRef(s string) (*configv1.ConfigRef, error) {
	env, v, hasVersion := strings.Cut(strings.TrimSpace(s), "@")
	if env == "" {
		return nil, fmt.Errorf("%q: want ENV or ENV@VERSION", s)
	}
	ref := &configv1.ConfigRef{Environment: env}
	if hasVersion {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%q: the version after @ is a number from 1 (ENV@VERSION)", s)
		}
		ref.Version = n
	}
	return ref, nil
}

func refWords(r *configv1.ConfigRef, v *configv1.ConfigVersion) string {
	n := r.GetVersion()
	if v.GetVersion() != 0 {
		n = v.GetVersion()
	}
	if n == 0 {
		// The server compares an environment without configuration as empty.
		return r.GetEnvironment() + ", which has no configuration yet"
	}
	return fmt.Sprintf("%s@%d", r.GetEnvironment(), n)
}

func newConfigDiffCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff FROM[@VERSION] TO[@VERSION]",
		Short: "Compare two versions of one environment's configuration, or of two environments",
		Long: `diff lists what changes from FROM to TO, by JSON path: + added, - removed,
~ changed. A side without @VERSION is the environment's current version.
Secret references are shown (they are not secrets); values never are, since
a document holds none. -o json gives the changes with their old and new
values.

  floe config diff staging production
  floe config diff production@3 production
  floe config diff staging@7 staging@9 -o json`,
		Args: positional("FROM", "TO"),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err := parseConfigRef(args[0])
			if err != nil {
				return err
			}
			to, err := parseConfigRef(args[1])
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := configClient(conn).DiffConfig(ctx, &configv1.DiffConfigRequest{From: from, To: to})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				fmt.Fprintf(g.errOut, "--- %s (%s)\n+++ %s (%s)\n", refWords(from, resp.GetFrom()), shortDigest(resp.GetFrom().GetDigest()),
					refWords(to, resp.GetTo()), shortDigest(resp.GetTo().GetDigest()))
				text := resp.GetText()
				if len(resp.GetChanges()) == 0 && strings.TrimSpace(text) == "" {
					_, err = fmt.Fprintln(g.out, "no differences")
					return err
				}
				if !strings.HasSuffix(text, "\n") {
					text += "\n"
				}
				_, err = io.WriteString(g.out, text)
				return err
			})
		},
	}
	return cmd
}

func newConfigHistoryCmd(g *globals) *cobra.Command {
	var limit, pageSize uint32
	cmd := &cobra.Command{
		Use:   "history ENV [--limit N]",
		Short: "List an environment's configuration versions, newest first: who, when, how and why",
		Long: `history lists the versions newest first: version, time, actor, source (set,
patch, or promotion from ENV@VERSION), digest (shortened) and reason. It asks
the server for pages until --limit versions are listed (0: all of them).

  floe config history production
  floe config history staging --limit 0 -o json`,
		Args: positional("ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if pageSize == 0 || pageSize > maxHistoryPageSize {
				return fmt.Errorf("--page-size %d: from 1 to %d", pageSize, maxHistoryPageSize)
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				all := &configv1.ListConfigVersionsResponse{}
				for {
					size := pageSize
					if left := limit - uint32(len(all.Versions)); limit > 0 && left < size {
						size = left
					}
					resp, err := configClient(conn).ListConfigVersions(ctx, &configv1.ListConfigVersionsRequest{Environment: args[0], PageSize: size, PageToken: all.NextPageToken})
					if err != nil {
						return err
					}
					all.Versions = append(all.Versions, resp.GetVersions()...)
					all.NextPageToken = resp.GetNextPageToken()
					if all.NextPageToken == "" || len(resp.GetVersions()) == 0 || (limit > 0 && uint32(len(all.Versions)) >= limit) {
						break
					}
				}
				if limit > 0 && uint32(len(all.Versions)) > limit {
					all.Versions = all.Versions[:limit]
				}
				if g.output == "json" {
					return printJSON(g.out, all)
				}
				if len(all.GetVersions()) == 0 {
					_, err := fmt.Fprintf(g.out, "no configuration versions in %s\n", args[0])
					return err
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "VERSION\tTIME\tACTOR\tSOURCE\tDIGEST\tREASON")
				for _, v := range all.GetVersions() {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", v.GetVersion(), fmtTime(v.GetTime()), orDash(v.GetActor()), configSource(v), shortDigest(v.GetDigest()), orDash(oneLine(v.GetReason(), 80)))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if all.GetNextPageToken() != "" {
					fmt.Fprintf(g.errOut, "(older versions not shown: --limit %d; --limit 0 lists all)\n", limit)
				}
				return nil
			})
		},
	}
	cmd.Flags().Uint32Var(&limit, "limit", 20, "list at most this many versions (0: all)")
	cmd.Flags().Uint32Var(&pageSize, "page-size", 100, fmt.Sprintf("versions asked for per call (at most %d)", maxHistoryPageSize))
	return cmd
}

func newConfigPromoteCmd(g *globals) *cobra.Command {
	var reason string
	var expected uint64
	cmd := &cobra.Command{
		Use:   "promote FROM[@VERSION] TO --reason TEXT [--expected-version N]",
		Short: "Copy a version of one environment's configuration to another, as a new version there",
		Long: `promote copies the document of FROM (its current version, or @VERSION) to the
environment TO, where it is validated against TO's schema and becomes TO's
next version, recorded as a promotion from FROM@VERSION. Run floe config diff
first to see what changes. --expected-version refuses the promotion unless
TO's current version is N.

  floe config diff staging production
  floe config promote staging production --reason "release 1.4 configuration"
  floe config promote staging@12 production --reason "roll back to the known-good pool size"`,
		Args: positional("FROM", "TO"),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err := parseConfigRef(args[0])
			if err != nil {
				return err
			}
			if err := required("reason", reason, "say why the configuration is promoted (kept in its history)"); err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := configClient(conn).PromoteConfig(ctx, &configv1.PromoteConfigRequest{From: from, ToEnvironment: args[1], Reason: reason, ExpectedVersion: expected})
				if err != nil {
					return err
				}
				return g.printConfigChange(resp.GetConfig(), resp.GetProposal())
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().Uint64Var(&expected, "expected-version", 0, "refuse unless the target's current version is this one")
	return cmd
}

func newConfigSchemaCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "The JSON Schema an environment's documents must satisfy besides the built-in one",
		Long: `Each environment may have a JSON Schema (draft 2020-12) of its own, which its
documents must satisfy on top of Floe's built-in schema (the guide's
EnvironmentConfig) — typically to describe your own sections or to require
some. Setting an empty schema clears it.

  floe config schema get production
  floe config schema get production --builtin
  floe config schema set production --file schema.json --reason "payments section"`,
	}
	cmd.AddCommand(newConfigSchemaGetCmd(g), newConfigSchemaSetCmd(g))
	return cmd
}

func newConfigSchemaGetCmd(g *globals) *cobra.Command {
	var builtin bool
	cmd := &cobra.Command{
		Use:   "get ENV [--builtin]",
		Short: "Print an environment's JSON Schema (or, --builtin, Floe's built-in one)",
		Long: `get prints the environment's schema as indented JSON on stdout, its digest,
actor and time on stderr; --builtin prints the built-in schema every
document must satisfy. -o json prints both with the metadata.

  floe config schema get production
  floe config schema get production --builtin > environment-config.schema.json`,
		Args: positional("ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := configClient(conn).GetConfigSchema(ctx, &configv1.GetConfigSchemaRequest{Environment: args[0]})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				if builtin {
					return printJSONText(g.out, resp.GetBuiltin())
				}
				s := resp.GetSchema()
				if strings.TrimSpace(s.GetSchema()) == "" {
					_, err := fmt.Fprintf(g.errOut, "%s has no schema of its own: only the built-in one applies (--builtin prints it)\n", args[0])
					return err
				}
				tw := newTable(g.errOut)
				fmt.Fprintf(tw, "ENVIRONMENT\t%s\nDIGEST\t%s\nACTOR\t%s\nTIME\t%s\n", orDash(s.GetEnvironment()), orDash(s.GetDigest()), orDash(s.GetActor()), fmtTime(s.GetTime()))
				if err := tw.Flush(); err != nil {
					return err
				}
				return printJSONText(g.out, s.GetSchema())
			})
		},
	}
	cmd.Flags().BoolVar(&builtin, "builtin", false, "print Floe's built-in schema instead")
	return cmd
}

func newConfigSchemaSetCmd(g *globals) *cobra.Command {
	var file, reason string
	cmd := &cobra.Command{
		Use:   "set ENV --file FILE|- --reason TEXT",
		Short: "Set an environment's JSON Schema (an empty file clears it)",
		Long: `set makes the file the environment's JSON Schema (draft 2020-12). The next
versions of its documents must satisfy it as well as the built-in schema; the
current one is not re-checked. An empty file (or only white space) clears it.

  floe config schema set production --file schema.json --reason "payments section is required"
  floe config schema set production --file /dev/null --reason "schema no longer needed"`,
		Args: positional("ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("reason", reason, "say why the schema changes (kept in the log)"); err != nil {
				return err
			}
			data, err := readFileOrIn(cmd, file)
			if err != nil {
				return err
			}
			schema := string(data)
			if strings.TrimSpace(schema) == "" {
				schema = ""
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := configClient(conn).SetConfigSchema(ctx, &configv1.SetConfigSchemaRequest{Environment: args[0], Schema: schema, Reason: reason})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp.GetSchema())
				}
				if schema == "" {
					_, err = fmt.Fprintf(g.out, "%s: schema cleared (only the built-in one applies)\n", args[0])
					return err
				}
				_, err = fmt.Fprintf(g.out, "%s: schema set (%s)\n", args[0], shortDigest(resp.GetSchema().GetDigest()))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "-", "the JSON Schema (- for stdin; empty clears)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}
