package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/secrets"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
)

// maxSecretValue is the largest value PutSecret takes (64 KiB).
const maxSecretValue = 64 << 10

// pipeHint says how to give a secret's value.
const pipeHint = `pipe the value in: printf %s "$VALUE" | floe secrets put ENV NAME --reason TEXT, or use --from-file FILE`

func newSecretsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Secrets per environment: put a value, list metadata, revoke a version; rotate the encryption key",
		Long: `A secret is a named value of an environment (db/password), kept in versions
and encrypted at rest (or in Vault). A value goes in with floe secrets put and
never comes out: the other commands show metadata only (versions, who, when,
the encryption key's id and the ciphertext's digest). Configuration refers to
a secret as secret://<name>; it is resolved only when a configuration version
is delivered to a running process.

Reading metadata needs secret.read in the environment, putting and revoking
secret.write. The builtin provider's key-encryption key is rotated with
floe secrets kek add and floe secrets rewrap (system.admin).`,
	}
	cmd.AddCommand(newSecretsPutCmd(g), newSecretsListCmd(g), newSecretsVersionsCmd(g), newSecretsRevokeCmd(g),
		newSecretsRotateCmd(g), newSecretsPolicyCmd(g), newSecretsKEKCmd(g), newSecretsRewrapCmd(g))
	return cmd
}

func secretClient(conn *grpc.ClientConn) configv1.SecretServiceClient {
	return configv1.NewSecretServiceClient(conn)
}

// putArgs checks put's arguments without ever echoing them: a third one is
// most likely the value, which must not end up in an error message.
func putArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 2 {
		return fmt.Errorf("too many arguments: floe secrets put takes ENV and NAME only; the value is never an argument (it would be in your shell history and the process list): %s", pipeHint)
	}
	return positional("ENV", "NAME")(cmd, args)
}

func newSecretsPutCmd(g *globals) *cobra.Command {
	var reason, description, fromFile string
	var keepNewline bool
	cmd := &cobra.Command{
		Use:   "put ENV NAME --reason TEXT [--description TEXT] [--from-file FILE] [--keep-newline] < VALUE",
		Short: "Store a new version of a secret, its value read from stdin (or --from-file), never from an argument",
		Long: `put stores the value as the secret's next version (creating the secret) and
prints the version's metadata, never the value. The value is read from stdin,
or from --from-file; it is never taken from a flag or an argument, which would
leave it in shell history and the process list. floe does not read it from a
terminal: pipe it in. One trailing newline is removed (as echo and most
editors add one) unless --keep-newline; an empty value is refused, and so is
one over 64 KiB. Names are '/'-separated lower-case segments (db/password);
configuration refers to the secret as secret://<name>.

  printf %s "$DB_PASSWORD" | floe secrets put production db/password --reason "rotated after INC-12"
  floe secrets put production tls/key --from-file key.pem --keep-newline --reason "new certificate"
  vault kv get -field=token kv/ci | floe secrets put staging ci/token --description "CI deploy token" --reason "moved from Vault"`,
		Args: putArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("reason", reason, "say why the secret changes (kept in the log)"); err != nil {
				return err
			}
			value, err := readSecretInput(cmd.InOrStdin(), fromFile, keepNewline)
			if err != nil {
				return err
			}
			defer clear(value)
			if err := valueInText(value, map[string]string{"reason": reason, "description": description}); err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := secretClient(conn).PutSecret(ctx, &configv1.PutSecretRequest{Environment: args[0], Name: args[1], Value: value, Reason: reason, Description: description})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				s, v := resp.GetSecret(), resp.GetVersion()
				_, err = fmt.Fprintf(g.out, "%s %s: version %d (key %s, digest %s) by %s\nreference: %s\n", s.GetEnvironment(), s.GetName(), v.GetVersion(),
					orDash(v.GetKeyId()), shortDigest(v.GetDigest()), orDash(v.GetActor()), orDash(s.GetReference()))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&description, "description", "", "what the secret is for (not the value)")
	cmd.Flags().StringVar(&fromFile, "from-file", "", "read the value from this file instead of stdin")
	cmd.Flags().BoolVar(&keepNewline, "keep-newline", false, "keep a trailing newline as part of the value")
	return cmd
}

// readSecretInput reads a secret's value from the file, or from stdin when
// file is "" or "-" — unless stdin is a terminal, where the value would be
// echoed: floe has no way here to read without echo, so it asks for a pipe.
func readSecretInput(stdin io.Reader, file string, keepNewline bool) ([]byte, error) {
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		value, err := readSecretValue(f, keepNewline)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return value, nil
	}
	if isTerminal(stdin) {
		return nil, fmt.Errorf("refusing to read the secret's value from a terminal (it would be echoed): %s", pipeHint)
	}
	value, err := readSecretValue(stdin, keepNewline)
	if err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	return value, nil
}

// readSecretValue reads a value of 1 byte to 64 KiB, less exactly one
// trailing "\n" unless keepNewline.
func readSecretValue(r io.Reader, keepNewline bool) ([]byte, error) {
	value, err := io.ReadAll(io.LimitReader(r, maxSecretValue+2))
	if err != nil {
		clear(value)
		return nil, err
	}
	if !keepNewline {
		value = bytes.TrimSuffix(value, []byte("\n"))
	}
	switch {
	case len(value) == 0:
		return nil, errors.New("the value is empty: " + pipeHint)
	case len(value) > maxSecretValue:
		clear(value)
		return nil, fmt.Errorf("the value is larger than %d KiB", maxSecretValue>>10)
	}
	return value, nil
}

// minEchoCheck is the shortest value looked for in --reason and --description:
// shorter ones would match ordinary words.
const minEchoCheck = 8

// valueInText refuses a value that also appears in a flag kept in the log
// in clear (a value pasted in the wrong place), without repeating it.
func valueInText(value []byte, flags map[string]string) error {
	if len(bytes.TrimSpace(value)) < minEchoCheck {
		return nil
	}
	for name, text := range flags {
		if strings.Contains(text, string(bytes.TrimSpace(value))) {
			return fmt.Errorf("--%s contains the secret's value: it would be kept in the log in clear; say what the secret is for instead", name)
		}
	}
	return nil
}

// isTerminal reports whether r is a character device (a terminal; /dev/null
// too, which gives an empty value anyway).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newSecretsListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list ENV",
		Short: "List an environment's secrets: versions, latest, provider, description",
		Long: `list shows one line per secret: its name, its latest version that is not
revoked, its number of versions (and how many are revoked), its provider
(builtin or vault) and description. Values are never shown.

  floe secrets list production
  floe secrets list production -o json`,
		Args: positional("ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := secretClient(conn).ListSecrets(ctx, &configv1.ListSecretsRequest{Environment: args[0]})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				if len(resp.GetSecrets()) == 0 {
					_, err := fmt.Fprintf(g.out, "no secrets in %s\n", args[0])
					return err
				}
				tw := newTable(g.out)
				fmt.Fprintln(tw, "NAME\tLATEST\tVERSIONS\tPROVIDER\tDESCRIPTION")
				for _, s := range resp.GetSecrets() {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.GetName(), latestSecretVersion(s), versionCount(s), orDash(s.GetProvider()), orDash(oneLine(s.GetDescription(), 60)))
				}
				return tw.Flush()
			})
		},
	}
}

// latestSecretVersion is the highest version not revoked, or "-".
func latestSecretVersion(s *configv1.Secret) string {
	var latest uint64
	for _, v := range s.GetVersions() {
		if !v.GetRevoked() && v.GetVersion() > latest {
			latest = v.GetVersion()
		}
	}
	if latest == 0 {
		return "-"
	}
	return strconv.FormatUint(latest, 10)
}

func versionCount(s *configv1.Secret) string {
	revoked := 0
	for _, v := range s.GetVersions() {
		if v.GetRevoked() {
			revoked++
		}
	}
	if revoked == 0 {
		return strconv.Itoa(len(s.GetVersions()))
	}
	return fmt.Sprintf("%d (%d revoked)", len(s.GetVersions()), revoked)
}

func newSecretsVersionsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "versions ENV NAME",
		Short: "List a secret's versions, newest first: created, actor, key id, digest, revoked",
		Long: `versions shows the metadata of each version of a secret, newest first: when
and by whom it was put, the key-encryption key that wraps it, the digest of
its ciphertext (shortened; -o json has it whole), whether and when it was
revoked, and why it was put. The value is never shown.

  floe secrets versions production db/password
  floe secrets versions production db/password -o json`,
		Args: positional("ENV", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := secretClient(conn).GetSecret(ctx, &configv1.GetSecretRequest{Environment: args[0], Name: args[1]})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp.GetSecret())
				}
				return printSecretVersions(g.out, resp.GetSecret())
			})
		},
	}
}

// printSecretVersions writes the table of `floe secrets versions`.
func printSecretVersions(w io.Writer, s *configv1.Secret) error {
	versions := append([]*configv1.SecretVersion(nil), s.GetVersions()...)
	sort.SliceStable(versions, func(i, j int) bool { return versions[i].GetVersion() > versions[j].GetVersion() })
	tw := newTable(w)
	fmt.Fprintln(tw, "VERSION\tCREATED\tACTOR\tKEY\tDIGEST\tREVOKED\tREASON")
	for _, v := range versions {
		revoked := "-"
		if v.GetRevoked() {
			revoked = strings.TrimSpace(fmt.Sprintf("%s by %s", fmtTime(v.GetRevokedAt()), orDash(v.GetRevokedBy())))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", v.GetVersion(), fmtTime(v.GetCreated()), orDash(v.GetActor()), orDash(v.GetKeyId()),
			shortDigest(v.GetDigest()), revoked, orDash(oneLine(v.GetReason(), 60)))
	}
	return tw.Flush()
}

func newSecretsRevokeCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke ENV NAME VERSION --reason TEXT",
		Short: "Revoke a version of a secret: it is destroyed and resolves no more",
		Long: `revoke destroys a version of a secret in its provider: configuration that
refers to it (secret://<name>@<version>, or secret://<name> while it is the
latest) no longer resolves to it. It cannot be undone; put a new version
first when rotating.

  floe secrets revoke production db/password 2 --reason "leaked in INC-12"`,
		Args: positional("ENV", "NAME", "VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := strconv.ParseUint(args[2], 10, 64)
			if err != nil || version == 0 {
				return fmt.Errorf("VERSION %q: a version number from 1 (see floe secrets versions)", args[2])
			}
			if err := required("reason", reason, "say why the version is revoked (kept in the log)"); err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := secretClient(conn).RevokeSecretVersion(ctx, &configv1.RevokeSecretVersionRequest{Environment: args[0], Name: args[1], Version: version, Reason: reason})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp.GetSecret())
				}
				by := "-"
				for _, v := range resp.GetSecret().GetVersions() {
					if v.GetVersion() == version {
						by = orDash(v.GetRevokedBy())
					}
				}
				_, err = fmt.Fprintf(g.out, "%s %s: version %d revoked by %s; it resolves no more (latest now: %s)\n", args[0], args[1], version, by, latestSecretVersion(resp.GetSecret()))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

func newSecretsRotateCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "rotate ENV NAME --reason TEXT",
		Short: "Rotate a secret now with its rotator (the previous version stays live for the grace period)",
		Long: `rotate makes a new version of a secret with the rotator of its rotation policy
(floe secrets policy): a random value, or a command's output. The previous
version stays live for the policy's grace period, then is revoked. A secret
rotated by hand is rotated with floe secrets put.

  floe secrets rotate production api/key --reason "suspected exposure"`,
		Args: positional("ENV", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("reason", reason, "say why the secret is rotated now (kept in the log)"); err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := secretClient(conn).RotateSecret(ctx, &configv1.RotateSecretRequest{Environment: args[0], Name: args[1], Reason: reason})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				_, err = fmt.Fprintf(g.out, "%s %s: version %d; next rotation %s\n", args[0], args[1], resp.GetVersion().GetVersion(),
					fmtTime(resp.GetSecret().GetNextRotation()))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

func newSecretsPolicyCmd(g *globals) *cobra.Command {
	var reason, rotator, alphabet string
	var interval, grace time.Duration
	var length uint32
	var command []string
	var none bool
	cmd := &cobra.Command{
		Use:   "policy ENV NAME --rotator generate|exec|manual [--interval 720h] [--grace 168h] --reason TEXT",
		Short: "Set a secret's automatic rotation (default: every 30 days, 7 days' grace)",
		Long: `policy sets how a secret is rotated: --rotator generate (a random value,
--length, --alphabet alphanumeric|hex|base64url), exec (--command, repeated: a
program and its arguments that prints the new value; it gets
FLOE_SECRET_NAME, FLOE_SECRET_ENVIRONMENT and FLOE_SECRET_VERSION) or manual
(someone puts it; past due it is reported overdue). --none removes the policy.

  floe secrets policy production api/key --rotator generate --reason "the guide's policy"
  floe secrets policy production smtp/password --rotator exec --command ./rotate-smtp.sh --reason "provider API"`,
		Args: positional("ENV", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := required("reason", reason, "say why (kept in the log)"); err != nil {
				return err
			}
			var p *configv1.RotationPolicy
			if !none {
				p = &configv1.RotationPolicy{}
				if interval > 0 {
					p.Interval = durationpb.New(interval)
				}
				if cmd.Flags().Changed("grace") {
					p.Grace = durationpb.New(grace)
				}
				switch rotator {
				case "generate":
					p.Rotator = &configv1.RotationPolicy_Generate{Generate: &configv1.GenerateRotator{Length: length, Alphabet: alphabet}}
				case "exec":
					p.Rotator = &configv1.RotationPolicy_Exec{Exec: &configv1.ExecRotator{Command: command}}
				case "manual":
					p.Rotator = &configv1.RotationPolicy_Manual{Manual: &configv1.ManualRotator{}}
				default:
					return fmt.Errorf("--rotator %q: one of generate, exec, manual (or --none)", rotator)
				}
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := secretClient(conn).SetRotationPolicy(ctx, &configv1.SetRotationPolicyRequest{Environment: args[0], Name: args[1], Policy: p, Reason: reason})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp.GetSecret())
				}
				if resp.GetSecret().GetRotation() == nil {
					_, err = fmt.Fprintf(g.out, "%s %s: no automatic rotation\n", args[0], args[1])
					return err
				}
				r := resp.GetSecret().GetRotation()
				_, err = fmt.Fprintf(g.out, "%s %s: rotated every %s, grace %s; next rotation %s\n", args[0], args[1],
					r.GetInterval().AsDuration(), r.GetGrace().AsDuration(), fmtTime(resp.GetSecret().GetNextRotation()))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&rotator, "rotator", "", "generate, exec or manual")
	cmd.Flags().DurationVar(&interval, "interval", 0, "time between rotations (default 720h: 30 days)")
	cmd.Flags().DurationVar(&grace, "grace", 0, "how long the previous version stays live (default 168h: 7 days)")
	cmd.Flags().Uint32Var(&length, "length", 0, "generate: characters (default 32)")
	cmd.Flags().StringVar(&alphabet, "alphabet", "", "generate: alphanumeric (default), hex or base64url")
	cmd.Flags().StringArrayVar(&command, "command", nil, "exec: the program, then each argument (repeat the flag)")
	cmd.Flags().BoolVar(&none, "none", false, "remove the policy")
	return cmd
}

// kekRotation is the whole procedure of a KEK rotation, in the help of
// every command that takes part in it.
const kekRotation = `Rotating the builtin provider's key-encryption key (KEK). Every process that
opens secrets has a keyring (--secrets-keyring FILE, or FLOE_SECRETS_KEKS):
the deployer reads values at delivery, the flag service stores them. floe dev
keeps one for both in <data-dir>/keys/secrets.keyring.

  1. Add a KEK: floe secrets kek add --keyring FILE on one copy of the
     keyring, then give every process the same new entry (copy the file, or
     its new last line; never run kek add on each copy, which would make a
     different key each time). The deployer's keyring first — it only reads,
     and must open what the flag service will wrap with the new KEK — then
     the flag service's.
  2. Restart them, the deployer first. The new KEK, the last entry, is the
     primary: it wraps every version put from then on.
  3. floe secrets rewrap --reason TEXT (system.admin; --dry-run first shows
     what would move): every live version's data key is wrapped with the
     primary KEK and each is recorded in the log (SecretVersionRewrapped).
     Values and ciphertexts do not change. A run that stopped half-way is
     completed by running it again.
  4. Check the key usage it prints: the old KEK at 0 live versions.
  5. Remove the old KEK's line from every keyring.
  6. Restart them. Copies of the secrets bucket taken before (backups) can
     no longer be decrypted.`

func newSecretsKEKCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kek",
		Short: "The builtin provider's key-encryption keys (KEKs): add one to a keyring file",
		Long:  "kek works on a keyring file, offline: no server is called.\n\n" + kekRotation,
	}
	cmd.AddCommand(newSecretsKEKAddCmd(g))
	return cmd
}

// kekAdded is kek add's -o json output.
type kekAdded struct {
	Keyring string   `json:"keyring"`
	KeyID   string   `json:"key_id"`
	Older   []string `json:"older_key_ids"`
}

func newSecretsKEKAddCmd(g *globals) *cobra.Command {
	var keyring string
	cmd := &cobra.Command{
		Use:   "add --keyring FILE",
		Short: "Add a new random KEK to a keyring file, as its primary (step 1 of a KEK rotation)",
		Long: `add appends a new random AES-256 key-encryption key to the keyring file, as
its last entry, which makes it the primary; it prints the new KEK's id and
the next steps, never a key. The file must exist and be readable by its
owner only (chmod 600). No server is called.

  floe secrets kek add --keyring /etc/floe/secrets.keyring
  floe secrets kek add --keyring .floe/keys/secrets.keyring   # floe dev's

` + kekRotation,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := required("keyring", keyring, "the keyring file to add the KEK to (floe dev's: <data-dir>/keys/secrets.keyring)"); err != nil {
				return err
			}
			before, err := secrets.LoadKeyringFile(keyring)
			if err != nil {
				return err
			}
			id, err := secrets.AddKEKToFile(keyring)
			if err != nil {
				return err
			}
			out := kekAdded{Keyring: keyring, KeyID: id, Older: before.IDs()}
			if g.output == "json" {
				return printJSONDoc(g.out, out)
			}
			_, err = fmt.Fprintf(g.out, `added key-encryption key %s to %s: it is the keyring's primary now
next:
  1. give every process that opens secrets this keyring (copy the file, or its new last line): the deployer's first, then the flag service's
  2. restart them, the deployer first
  3. floe secrets rewrap --reason "KEK rotation" (--dry-run first shows what would move)
  4. when it shows %s at 0 live versions, delete their lines from every keyring and restart again
`, id, keyring, strings.Join(out.Older, ", "))
			return err
		},
	}
	cmd.Flags().StringVar(&keyring, "keyring", "", "the keyring file (required)")
	return cmd
}

func newSecretsRewrapCmd(g *globals) *cobra.Command {
	var reason string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "rewrap --reason TEXT [--dry-run]",
		Short: "Wrap every secret version's data key with the primary KEK (step 3 of a KEK rotation)",
		Long: `rewrap asks the flag service to wrap the data key of every live secret
version, in every environment, with its keyring's primary KEK, and to record
each in the log (SecretVersionRewrapped: name, version, key ids, digest —
never a value). It prints each version that moved and how many live versions
each KEK still wraps: a KEK at 0 can be removed from every keyring. It needs
system.admin in every environment that has secrets. --dry-run changes nothing
and shows what would move. With Vault there is no KEK to rotate: Vault keeps
its own keys.

  floe secrets rewrap --reason "yearly KEK rotation" --dry-run
  floe secrets rewrap --reason "yearly KEK rotation"

` + kekRotation,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := required("reason", reason, "say why the key is rotated (kept in the log)"); err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := secretClient(conn).RewrapSecrets(ctx, &configv1.RewrapSecretsRequest{Reason: reason, DryRun: dryRun})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				return printRewrap(g.out, resp, dryRun)
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would move and the keys in use; change nothing")
	return cmd
}

// printRewrap writes rewrap's report: the versions moved, then the key usage.
func printRewrap(w io.Writer, r *configv1.RewrapSecretsResponse, dryRun bool) error {
	verb := "rewrapped"
	if dryRun {
		verb = "would rewrap"
	}
	if _, err := fmt.Fprintf(w, "%s %d secret versions to %s\n", verb, len(r.GetRewrapped()), r.GetPrimaryKeyId()); err != nil {
		return err
	}
	tw := newTable(w)
	if len(r.GetRewrapped()) > 0 {
		fmt.Fprintln(tw, "ENVIRONMENT\tNAME\tVERSION\tFROM\tTO")
		for _, v := range r.GetRewrapped() {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", v.GetEnvironment(), v.GetName(), v.GetVersion(), orDash(v.GetPreviousKeyId()), v.GetKeyId())
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "KEY\tLIVE VERSIONS\t")
	ids := make([]string, 0, len(r.GetKeyUsage()))
	for id := range r.GetKeyUsage() {
		ids = append(ids, id)
	}
	sort.Strings(ids) // generated ids sort by creation
	for _, id := range ids {
		n, note := r.GetKeyUsage()[id], ""
		switch {
		case id == r.GetPrimaryKeyId():
			note = "primary"
		case n == 0:
			note = "unused: remove it from every keyring, then restart"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", id, n, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if dryRun {
		_, err := fmt.Fprintln(w, "dry run: nothing was changed")
		return err
	}
	return nil
}
