package natsx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Identity is a NATS user authenticated by an nkey (an ed25519 key pair;
// the server knows only the public key).
type Identity struct {
	Name   string
	Public string
	seed   []byte
}

// Option is the connection option that authenticates as the identity.
func (id *Identity) Option() nats.Option {
	return nats.Nkey(id.Public, func(nonce []byte) ([]byte, error) {
		kp, err := nkeys.FromSeed(id.seed)
		if err != nil {
			return nil, err
		}
		defer kp.Wipe()
		return kp.Sign(nonce)
	})
}

// LoadOrCreateIdentity reads the nkey seed file at path (as `nk -gen user`
// writes it, and as the nats CLI's --nkey and nats.js's nkeyAuthenticator
// read it), or creates one there (mode 0600).
func LoadOrCreateIdentity(name, path string) (*Identity, error) {
	seed, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return nil, err
		}
		if seed, err = kp.Seed(); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, append(seed, '\n'), 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	seed = []byte(strings.TrimSpace(string(seed)))
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("%s: not an nkey seed: %w", path, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, err
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return nil, fmt.Errorf("%s: not a user nkey (its seed must start with SU)", path)
	}
	return &Identity{Name: name, Public: pub, seed: seed}, nil
}

// LoadIdentity reads an existing nkey seed file.
func LoadIdentity(name, path string) (*Identity, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return LoadOrCreateIdentity(name, path)
}

// Users is who may connect to an embedded server, and what each may do.
// With Users set, nothing connects anonymously.
type Users []*server.NkeyUser

// User is an identity with its permissions.
func User(id *Identity, perms *server.Permissions) *server.NkeyUser {
	return &server.NkeyUser{Nkey: id.Public, Permissions: perms}
}

// The event log's and the audit trail's streams: no identity a process
// hands out may delete, purge or reconfigure them, or delete their messages.
var protectedStreams = []string{"FLOE_EVENTS", "FLOE_AUDIT"}

func denyLogChanges() []string {
	var out []string
	for _, s := range protectedStreams {
		out = append(out, "$JS.API.STREAM.DELETE."+s, "$JS.API.STREAM.PURGE."+s, "$JS.API.STREAM.UPDATE."+s, "$JS.API.STREAM.MSG.DELETE."+s)
	}
	return out
}

// jsClient is what any JetStream client needs: account info, stream and
// consumer lookups, direct gets, consumers (durable and ordered), acks and
// flow control, and replies.
var jsClient = []string{
	"$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
	"$JS.API.STREAM.MSG.GET.*", "$JS.API.DIRECT.GET.>", "$JS.API.CONSUMER.>", "$JS.ACK.>", "$JS.FC.>", "_INBOX.>",
}

// SecretsBucket is the KV bucket of secret values (libs/secrets/natsstore):
// ciphertext only, but only the services that keep or deliver secrets may
// touch it at all.
const SecretsBucket = "floe_secrets"

// SecretsAccess is the grant a service lists among its Publishes to use the
// secrets bucket (the flag service keeps secrets; the deployer delivers them).
const SecretsAccess = "$KV." + SecretsBucket + ".>"

// denySecrets keeps a service away from the secrets bucket: its records,
// the stream under it, its consumers.
func denySecrets() []string {
	st := "KV_" + SecretsBucket
	out := []string{SecretsAccess, "$JS.API.DIRECT.GET." + st, "$JS.API.DIRECT.GET." + st + ".>",
		"$JS.API.CONSUMER.CREATE." + st, "$JS.API.CONSUMER.CREATE." + st + ".>", "$JS.API.CONSUMER.DURABLE.CREATE." + st + ".>"}
	for _, op := range []string{"CREATE", "UPDATE", "DELETE", "PURGE", "INFO", "MSG.GET", "MSG.DELETE"} {
		out = append(out, "$JS.API.STREAM."+op+"."+st)
	}
	return out
}

// ServicePermissions are a service's: append to its own aggregates'
// subjects and nothing else of the log; read everything but the secrets
// bucket; keep its consumers, caches (KV buckets) and views; publish the
// other subjects given (e.g. the audit service's checkpoints; SecretsAccess
// opens the secrets bucket).
func ServicePermissions(aggregates []string, publish ...string) *server.Permissions {
	allow := slices.Clone(jsClient)
	for _, a := range aggregates {
		allow = append(allow, "floe.evt."+a+".>")
	}
	allow = append(allow, publish...)
	deny := denyLogChanges()
	if !slices.Contains(publish, "$JS.API.STREAM.CREATE.FLOE_AUDIT") {
		deny = append(deny, "$JS.API.STREAM.CREATE.FLOE_AUDIT")
	}
	if !slices.Contains(publish, SecretsAccess) {
		deny = append(deny, denySecrets()...)
	}
	allow = append(allow,
		"$JS.API.STREAM.CREATE.FLOE_EVENTS",                                                                       // idempotent: an existing stream is not changed
		"$JS.API.STREAM.CREATE.*", "$JS.API.STREAM.UPDATE.*", "$JS.API.STREAM.DELETE.*", "$JS.API.STREAM.PURGE.*", // KV buckets
		"$KV.>",
		"$O.>", // object stores (the gate service's evidence)
	)
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: allow, Deny: deny},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>", "floe.evt.>"}},
	}
}

// ReaderPermissions are an event subscriber's (a Slack bot, a dashboard, an
// auditor): read the event log and the audit trail, create consumers on
// them; publish nothing, change nothing.
func ReaderPermissions() *server.Permissions {
	allow := []string{"$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST", "$JS.FC.>", "_INBOX.>"}
	for _, s := range protectedStreams {
		allow = append(allow,
			"$JS.API.STREAM.INFO."+s, "$JS.API.STREAM.MSG.GET."+s, "$JS.API.DIRECT.GET."+s, "$JS.API.DIRECT.GET."+s+".>",
			"$JS.API.CONSUMER.CREATE."+s, "$JS.API.CONSUMER.CREATE."+s+".>", "$JS.API.CONSUMER.INFO."+s+".*",
			"$JS.API.CONSUMER.MSG.NEXT."+s+".*", "$JS.ACK."+s+".>")
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: allow},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>", "floe.evt.>"}},
	}
}

// HostPermissions are the hosting process's own (floe dev, a service binary
// on its embedded server): create the streams, sign audit checkpoints, read
// everything — but write no event (the services do) and never delete,
// purge or reconfigure the log.
func HostPermissions() *server.Permissions {
	allow := append(slices.Clone(jsClient),
		"$JS.API.STREAM.CREATE.*", "$JS.API.STREAM.UPDATE.*", "$JS.API.STREAM.DELETE.*", "$JS.API.STREAM.PURGE.*",
		"$KV.>", "floe.audit.>")
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: allow, Deny: denyLogChanges()},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>", "floe.evt.>", "floe.audit.>"}},
	}
}

// DevAuth is a development server's identities, kept as nkey seed files
// in a directory: the host's, a reader's for event subscribers, and one per
// service. Users is the embedded server's authorization for them.
type DevAuth struct {
	Host     *Identity
	Reader   *Identity
	Services map[string]*Identity
	Users    Users
	// ReaderFile is the reader's seed file (for bots: `nats --nkey FILE`).
	ReaderFile string
}

// LoadOrCreateDevAuth keeps the identities in dir (created on first use):
// host.nk and <service>.nk for each service of services (name → its
// permissions, see ServicePermissions), and the reader's at readerFile
// (handed to bots).
func LoadOrCreateDevAuth(dir, readerFile string, services map[string]*server.Permissions) (*DevAuth, error) {
	a := &DevAuth{Services: map[string]*Identity{}, ReaderFile: readerFile}
	var err error
	if a.Host, err = LoadOrCreateIdentity("host", filepath.Join(dir, "host.nk")); err != nil {
		return nil, err
	}
	if a.Reader, err = LoadOrCreateIdentity("reader", a.ReaderFile); err != nil {
		return nil, err
	}
	a.Users = Users{User(a.Host, HostPermissions()), User(a.Reader, ReaderPermissions())}
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		id, err := LoadOrCreateIdentity(n, filepath.Join(dir, n+".nk"))
		if err != nil {
			return nil, err
		}
		a.Services[n] = id
		a.Users = append(a.Users, User(id, services[n]))
	}
	return a, nil
}
