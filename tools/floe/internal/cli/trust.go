package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/penguinmails/floe/libs/eventstore"
)

func newTrustCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Edit a trust store: the writer keys whose events readers accept",
		Long: `Every event is signed by the key of the service that wrote it, and every reader
checks the signature against a trust store (a JSON file, format floe-trust/v1):
which key may write which aggregate kinds, as which writer. These commands edit
that file offline; every process reads it at start (--trust-store).

Rotating a service's key without losing the old events:

  openssl genpkey -algorithm ed25519 -out release-2.key
  floe trust add --trust-store trust.json --key release-2.key --writer release --aggregates release,product
  # deploy trust.json everywhere, then restart the release service with --signing-key release-2.key
  floe trust retire --trust-store trust.json OLD_KEY_ID --after POSITION   # the log's last position before the switch
  # deploy trust.json again: events the old key signs after POSITION are refused; older ones still verify`,
	}
	cmd.AddCommand(newTrustAddCmd(g), newTrustRetireCmd(g), newTrustListCmd(g))
	return cmd
}

func loadTrustFile(path string) (*eventstore.TrustStore, error) {
	t, err := eventstore.LoadTrust(path)
	if errors.Is(err, os.ErrNotExist) {
		return eventstore.NewTrust()
	}
	return t, err
}

func writeTrustFile(path string, t *eventstore.TrustStore) error {
	data, err := t.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func newTrustAddCmd(g *globals) *cobra.Command {
	var path, keyPath, writer, aggs string
	cmd := &cobra.Command{
		Use:   "add --trust-store FILE --key KEY.pem --writer NAME --aggregates a,b",
		Short: "Trust a writer key (its private key file is read for its public half only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" || keyPath == "" || writer == "" || aggs == "" {
				return errors.New("--trust-store, --key, --writer and --aggregates are required")
			}
			priv, err := eventstore.LoadKey(keyPath)
			if err != nil {
				return err
			}
			if !strings.Contains(writer, "/") {
				writer = "floe/" + writer
			}
			kinds := strings.Split(aggs, ",")
			if !slices.Contains(kinds, eventstore.IntegrityAggregate) {
				kinds = append(kinds, eventstore.IntegrityAggregate) // every writer may record a tampering it finds
			}
			t, err := loadTrustFile(path)
			if err != nil {
				return err
			}
			entry := eventstore.NewSigner(writer, priv).Trusted(kinds...)
			keys := slices.DeleteFunc(t.Keys(), func(k eventstore.TrustedKey) bool { return k.ID == entry.ID })
			nt, err := eventstore.NewTrust(append(keys, entry)...)
			if err != nil {
				return err
			}
			if err := writeTrustFile(path, nt); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.out, "trusted key %s for %s (%s) in %s\n", entry.ID, writer, strings.Join(kinds, ", "), path)
			return err
		},
	}
	cmd.Flags().StringVar(&path, "trust-store", "", "trust store file (created if missing)")
	cmd.Flags().StringVar(&keyPath, "key", "", "the writer's ed25519 key (PKCS#8 PEM)")
	cmd.Flags().StringVar(&writer, "writer", "", "the writer: a service name (release) or its ce-source (floe/release)")
	cmd.Flags().StringVar(&aggs, "aggregates", "", "aggregate kinds it may write, comma-separated")
	return cmd
}

func newTrustRetireCmd(g *globals) *cobra.Command {
	var path string
	var after uint64
	cmd := &cobra.Command{
		Use:   "retire KEY_ID --after POSITION --trust-store FILE",
		Short: "Retire a key: events it signs at log positions after POSITION are refused",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if path == "" || after == 0 {
				return errors.New("--trust-store and --after are required")
			}
			t, err := eventstore.LoadTrust(path)
			if err != nil {
				return err
			}
			keys := t.Keys()
			i := slices.IndexFunc(keys, func(k eventstore.TrustedKey) bool { return k.ID == args[0] })
			if i < 0 {
				return fmt.Errorf("%s does not list key %s", path, args[0])
			}
			keys[i].RetiredAfter = after
			nt, err := eventstore.NewTrust(keys...)
			if err != nil {
				return err
			}
			if err := writeTrustFile(path, nt); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.out, "key %s (%s) retired after position %d\n", args[0], keys[i].Writer, after)
			return err
		},
	}
	cmd.Flags().StringVar(&path, "trust-store", "", "trust store file")
	cmd.Flags().Uint64Var(&after, "after", 0, "the last log position the key may have signed")
	return cmd
}

func newTrustListCmd(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "list --trust-store FILE",
		Short: "List the trusted writer keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				p, err := g.devFile("keys/trust.json")
				if err != nil {
					return errors.New("--trust-store is required (no dev server data found)")
				}
				path = p
			}
			t, err := eventstore.LoadTrust(path)
			if err != nil {
				return err
			}
			if g.output == "json" {
				data, err := t.Marshal()
				if err != nil {
					return err
				}
				_, err = g.out.Write(data)
				return err
			}
			tw := newTable(g.out)
			fmt.Fprintln(tw, "KEY\tWRITER\tAGGREGATES\tRETIRED AFTER")
			for _, k := range t.Keys() {
				retired := "-"
				if k.RetiredAfter != 0 {
					retired = strconv.FormatUint(k.RetiredAfter, 10)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Writer, strings.Join(k.Aggregates, ","), retired)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&path, "trust-store", "", "trust store file (default: the dev server's <data-dir>/keys/trust.json)")
	return cmd
}
