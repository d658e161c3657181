package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	"github.com/penguinmails/floe/libs/natsx"
	auditv1 "github.com/penguinmails/floe/proto/gen/floe/audit/v1"
	"github.com/penguinmails/floe/tools/floe/internal/clientconf"
)

// auditFlags locate the log and the trust anchor for verify and export.
type auditFlags struct {
	natsURL     string
	natsCreds   string
	natsNKey    string
	stream      string
	auditStream string
	publicKey   string
	trustStore  string
}

func (f *auditFlags) bind(cmd *cobra.Command) {
	f.bindLog(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.auditStream, "audit-stream", audit.DefaultAuditStream, "checkpoint stream")
	fl.StringVar(&f.publicKey, "public-key", "", "trusted checkpoint public key, PEM (default: the dev server's <data-dir>/audit-signing.key.pub)")
}

// bindLog binds the flags that reach the event log and its writers' keys.
func (f *auditFlags) bindLog(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.natsURL, "nats-url", os.Getenv("FLOE_NATS_URL"), "NATS URL of the log (env FLOE_NATS_URL; default: the dev server's, from the dev credentials file)")
	fl.StringVar(&f.natsCreds, "nats-creds", os.Getenv("FLOE_NATS_CREDS"), "NATS credentials file (read-only access is enough)")
	fl.StringVar(&f.natsNKey, "nats-nkey", os.Getenv("FLOE_NATS_NKEY"), "NATS nkey seed file (default with the dev server: its read-only identity, from the dev credentials file)")
	fl.StringVar(&f.stream, "stream", eventstore.DefaultStream, "event log stream")
	fl.StringVar(&f.trustStore, "trust-store", os.Getenv("FLOE_TRUST_STORE"), "writer keys (trust store, JSON): every event's writer signature is checked against it (default: the dev server's <data-dir>/keys/trust.json, if any)")
}

// trust loads the writer trust store: --trust-store, else the dev server's;
// nil (signatures not checked) when neither exists.
func (f *auditFlags) trust(g *globals) (*eventstore.TrustStore, string, error) {
	path := f.trustStore
	if path == "" {
		p, err := g.devFile(filepath.Join("keys", "trust.json"))
		if err != nil {
			return nil, "", nil
		}
		if _, err := os.Stat(p); err != nil {
			return nil, "", nil
		}
		path = p
	}
	t, err := eventstore.LoadTrust(path)
	if err != nil {
		return nil, "", err
	}
	return t, path, nil
}

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and export the tamper-evident audit trail",
		Long: `The event log is hash-chained per aggregate and covered by signed RFC 6962
Merkle checkpoints. 'floe audit verify' re-reads the log straight from NATS (or an
exported bundle), trusting only the checkpoint public key, and names the first bad
event; 'floe audit export' writes a self-verifying bundle; 'floe audit checkpoint'
asks the server to sign what has been appended so far.`,
	}
	cmd.AddCommand(newAuditVerifyCmd(g), newAuditExportCmd(g), newAuditCheckpointCmd(g), newAuditInfoCmd(g), newAuditCheckCmd(g))
	return cmd
}

// devFile finds a file in the dev data directory next to the dev credentials file.
func (g *globals) devFile(name string) (string, error) {
	path := g.credentials
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		p, err := clientconf.Find(wd, g.dataDir)
		if err != nil {
			return "", err
		}
		path = p
	}
	return filepath.Join(filepath.Dir(path), name), nil
}

func (f *auditFlags) trustedKey(g *globals) (ed25519.PublicKey, string, error) {
	path := f.publicKey
	if path == "" {
		p, err := g.devFile("audit-signing.key.pub")
		if err != nil {
			return nil, "", fmt.Errorf("no --public-key given and no dev server data found: %w", err)
		}
		path = p
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("public key: %w", err)
	}
	pub, err := audit.ParsePublicKey(data)
	if err != nil {
		return nil, "", fmt.Errorf("public key %s: %w", path, err)
	}
	return pub, path, nil
}

func (f *auditFlags) connect(ctx context.Context, g *globals) (*natsx.Conn, error) {
	url, nkey := f.natsURL, f.natsNKey
	if url == "" {
		creds, err := g.readCredentials()
		if err != nil || creds.NATS == "" {
			return nil, fmt.Errorf("no --nats-url given and no dev server found (%v)", err)
		}
		url = creds.NATS
		if nkey == "" {
			nkey = creds.NATSReaderNKey
		}
	}
	cfg := natsx.Config{URL: url, CredsFile: f.natsCreds, Name: "floe-audit"}
	if nkey != "" {
		id, err := natsx.LoadIdentity("audit", nkey)
		if err != nil {
			return nil, err
		}
		cfg.Identity = id
	}
	return natsx.Connect(ctx, cfg)
}

func newAuditVerifyCmd(g *globals) *cobra.Command {
	var f auditFlags
	var bundlePath string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check every hash link and checkpoint of the log; name the first bad event",
		Long: `verify reads the whole event log (from NATS, or from --bundle: a v2 bundle, or a
v1 one from an older floe) and checks:
every event's content against its floe-hash; every per-aggregate hash link and
version; every checkpoint's ed25519 signature against the trusted key; that each
checkpoint extends the one before it; every event against the leaf a checkpoint
signed; and that no signed position is missing. It exits non-zero when anything
is wrong and names the first bad event. Progress goes to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var src audit.Source
			var pub ed25519.PublicKey
			keyFrom := ""
			if bundlePath != "" {
				b, err := audit.ReadBundleFile(bundlePath)
				if err != nil {
					return fmt.Errorf("bundle: %w", err)
				}
				if b.Format == audit.BundleFormatV1 {
					fmt.Fprintf(g.errOut, "note: %s is a %s bundle, whose event bodies are checked as the file spells them: if a JSON tool rewrote it, bodies show as edited. Export it again for %s.\n", bundlePath, b.Format, audit.BundleFormat)
				}
				src, pub, keyFrom = b, b.PublicKey, "the bundle (compare its key id with the one you trust)"
				if f.publicKey != "" {
					if pub, keyFrom, err = f.trustedKey(g); err != nil {
						return err
					}
				}
			} else {
				var err error
				if pub, keyFrom, err = f.trustedKey(g); err != nil {
					return err
				}
				conn, err := f.connect(ctx, g)
				if err != nil {
					return err
				}
				defer conn.Close()
				src = &audit.JetStreamSource{JS: conn.JS, Stream: f.stream, AuditStream: f.auditStream}
			}
			trust, trustFrom, err := f.trust(g)
			if err != nil {
				return fmt.Errorf("trust store: %w", err)
			}
			start := time.Now()
			rep, err := audit.VerifyWith(ctx, src, audit.Options{Key: pub, Trust: trust, Progress: func(n uint64) {
				fmt.Fprintf(g.errOut, "\rverified %d events", n)
			}})
			fmt.Fprintln(g.errOut)
			if err != nil {
				return err
			}
			if g.output == "json" {
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printReport(g.out, rep, keyFrom, trustFrom, time.Since(start))
			}
			if !rep.OK() {
				msg := fmt.Sprintf("audit verification FAILED: %d problem(s)", len(rep.Problems)+rep.MoreProblems)
				if bad := rep.FirstBadEvent(); bad != nil {
					msg += fmt.Sprintf("; first bad event at position %d (%s)", bad.Seq, bad.Kind)
				}
				return fmt.Errorf("%s", msg)
			}
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&bundlePath, "bundle", "", "verify an exported bundle instead of the live log")
	return cmd
}

func printReport(w io.Writer, r *audit.Report, keyFrom, trustFrom string, took time.Duration) {
	fmt.Fprintf(w, "events      %d (positions %d..%d) in %d aggregates\n", r.Events, r.FirstSeq, r.LastSeq, r.Aggregates)
	fmt.Fprintf(w, "checkpoints %d valid, signing %d events, key %s from %s\n", r.Checkpoints, r.SignedSize, r.KeyID, keyFrom)
	if trustFrom != "" {
		fmt.Fprintf(w, "writers     every event's signature checked against %d trusted writer keys from %s\n", r.WriterKeys, trustFrom)
	} else {
		fmt.Fprintln(w, "writers     NOT checked (no --trust-store): an event written outside Floe with a correct hash would pass")
	}
	for _, p := range r.Acknowledged {
		fmt.Fprintf(w, "acknowledged %s\n", p)
	}
	if r.UnsignedEvents > 0 {
		fmt.Fprintf(w, "unsigned    %d newer events are checked by hash chain only until the next checkpoint\n", r.UnsignedEvents)
	}
	fmt.Fprintf(w, "took        %s (%.0f events/s)\n", took.Round(time.Millisecond), float64(r.Events)/max(took.Seconds(), 1e-9))
	if r.OK() {
		if trustFrom != "" {
			fmt.Fprintln(w, "result      OK: every hash link, writer signature and checkpoint verifies")
		} else {
			fmt.Fprintln(w, "result      OK: every hash link and checkpoint verifies")
		}
		return
	}
	fmt.Fprintln(w, "result      FAILED")
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
	if r.MoreProblems > 0 {
		fmt.Fprintf(w, "  … and %d more\n", r.MoreProblems)
	}
}

func newAuditExportCmd(g *globals) *cobra.Command {
	var f auditFlags
	var from, to uint64
	var outPath string
	var viaAPI bool
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a self-verifying bundle (JSON lines: header, checkpoints, events)",
		Long: `export writes log positions --from..--to (default: all) with every checkpoint and
the public key as JSON lines (format floe-audit-bundle/v2). 'floe audit verify
--bundle FILE' checks it offline; every exported event is authenticated by a
signed checkpoint leaf, so a partial range verifies on its own.

Everything that is hashed or signed is carried as a JSON string or as base64 of
its exact bytes (event bodies in data_b64, the signed checkpoint note as text),
so the bundle verifies the same after any JSON-preserving rewrite: reformatting,
pretty-printing (jq .), key reordering, \u escapes. docs/eventstore.md specifies
the format for independent verifiers (one in Python: tools/auditverify).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if viaAPI {
				return exportViaAPI(ctx, g, from, to, outPath)
			}
			pub, _, err := f.trustedKey(g)
			if err != nil {
				return err
			}
			conn, err := f.connect(ctx, g)
			if err != nil {
				return err
			}
			defer conn.Close()
			w, closeOut, err := openOut(g, outPath)
			if err != nil {
				return err
			}
			defer closeOut()
			src := &audit.JetStreamSource{JS: conn.JS, Stream: f.stream, AuditStream: f.auditStream}
			st, err := audit.Export(ctx, src, pub, from, to, w, func(n uint64) { fmt.Fprintf(g.errOut, "\rexported %d events", n) })
			if err != nil {
				return err
			}
			fmt.Fprintf(g.errOut, "\rexported %d events (positions %d..%d) and %d checkpoints\n", st.Events, st.From, st.To, st.Checkpoints)
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().Uint64Var(&from, "from", 1, "first log position")
	cmd.Flags().Uint64Var(&to, "to", 0, "last log position (0: the end of the log now)")
	cmd.Flags().StringVar(&outPath, "out", "-", "output file ('-' for stdout)")
	cmd.Flags().BoolVar(&viaAPI, "api", false, "ask the audit service for the bundle (AuditService.ExportBundle, over gRPC with the token) instead of reading NATS")
	return cmd
}

// openOut is the output file path names ("-" or "": standard output).
func openOut(g *globals, path string) (io.Writer, func(), error) {
	if path == "" || path == "-" {
		return g.out, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { _ = f.Close() }, nil
}

// exportViaAPI writes the bundle the audit service streams (ExportBundle).
func exportViaAPI(ctx context.Context, g *globals, from, to uint64, outPath string) error {
	return g.call(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		stream, err := auditv1.NewAuditServiceClient(conn).ExportBundle(ctx, &auditv1.ExportBundleRequest{FromPosition: from, ToPosition: to})
		if err != nil {
			return err
		}
		w, closeOut, err := openOut(g, outPath)
		if err != nil {
			return err
		}
		defer closeOut()
		for {
			m, err := stream.Recv()
			if err != nil {
				return err // the stream ends with the done message, never with EOF first
			}
			if _, err := w.Write(m.GetData()); err != nil {
				return err
			}
			if m.GetDone() {
				fmt.Fprintf(g.errOut, "exported %d events (positions %d..%d) and %d checkpoints\n", m.GetEvents(), m.GetFirstPosition(), m.GetLastPosition(), m.GetCheckpoints())
				return nil
			}
		}
	})
}

// newAuditCheckCmd asks the audit service to verify a range (VerifyLog).
func newAuditCheckCmd(g *globals) *cobra.Command {
	var from, to uint64
	cmd := &cobra.Command{
		Use:   "check [--from N] [--to M]",
		Short: "Ask the audit service to verify log positions (what the console's audit page does)",
		Long: `check asks the audit service to verify positions --from..--to (default: all)
as 'floe audit verify' does — hashes, hash links, writer signatures, checkpoint
signatures and continuity, every event against its signed leaf — with the
service's own key. It needs only a token. For a verification that trusts no
Floe service, use 'floe audit verify' (NATS) or 'floe audit verify --bundle'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				r, err := auditv1.NewAuditServiceClient(conn).VerifyLog(ctx, &auditv1.VerifyLogRequest{FromPosition: from, ToPosition: to})
				if err != nil {
					return err
				}
				if g.output == "json" {
					if err := printJSON(g.out, r); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(g.out, "events      %d (positions %d..%d) in %d aggregates\n", r.GetEvents(), r.GetFirstPosition(), r.GetLastPosition(), r.GetAggregates())
					fmt.Fprintf(g.out, "checkpoints %d valid, signing %d events, key %s; %d trusted writer keys\n", r.GetCheckpoints(), r.GetSignedSize(), r.GetKeyId(), r.GetWriterKeys())
					if r.GetUnsignedEvents() > 0 {
						fmt.Fprintf(g.out, "unsigned    %d events after the last checkpoint, checked by hash chain only\n", r.GetUnsignedEvents())
					}
					for _, a := range r.GetAcknowledged() {
						fmt.Fprintf(g.out, "acknowledged %s\n", a)
					}
					if r.GetOk() {
						fmt.Fprintln(g.out, "result      OK (verified by the audit service)")
					} else {
						fmt.Fprintln(g.out, "result      FAILED")
						for _, p := range r.GetProblems() {
							fmt.Fprintf(g.out, "  - %s\n", p)
						}
					}
				}
				if !r.GetOk() {
					return fmt.Errorf("audit check FAILED: %d problem(s)", len(r.GetProblems()))
				}
				return nil
			})
		},
	}
	cmd.Flags().Uint64Var(&from, "from", 0, "first log position (default 1)")
	cmd.Flags().Uint64Var(&to, "to", 0, "last log position (default: the end of the log now)")
	return cmd
}

func newAuditCheckpointCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "checkpoint",
		Short: "Ask the server to sign a checkpoint of everything appended so far",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := auditv1.NewAuditServiceClient(conn).CreateCheckpoint(ctx, &auditv1.CreateCheckpointRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				if len(resp.GetCheckpoints()) == 0 {
					fmt.Fprintf(g.out, "nothing new to sign: the latest checkpoint covers %d events\n", resp.GetSignedSize())
					return nil
				}
				for _, c := range resp.GetCheckpoints() {
					fmt.Fprintf(g.out, "signed size %d root %s at %s with key %s\n", c.GetSize(), c.GetRootHex(), c.GetTime().AsTime().Format(time.RFC3339), c.GetKeyId())
				}
				return nil
			})
		},
	}
}

// newAuditInfoCmd prints the audit trail's state: the log's size, what the
// latest checkpoint signs, and the checkpoint key.
func newAuditInfoCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "The log's size, how much of it the latest signed checkpoint covers, and the checkpoint key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := auditv1.NewAuditServiceClient(conn).GetAuditInfo(ctx, &auditv1.GetAuditInfoRequest{})
				if err != nil {
					return err
				}
				if g.output == "json" {
					return printJSON(g.out, resp)
				}
				fmt.Fprintf(g.out, "log %s: %d events, %d covered by the latest signed checkpoint\ncheckpoint key %s\n%s",
					resp.GetOrigin(), resp.GetLogSize(), resp.GetSignedSize(), resp.GetKeyId(), resp.GetPublicKeyPem())
				return nil
			})
		},
	}
}
