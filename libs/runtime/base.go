package runtime

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
)

// Base is the configuration every Floe process shares. Services embed it in
// their own config struct.
type Base struct {
	Environment string `env:"FLOE_ENVIRONMENT" flag:"environment" default:"dev" usage:"name of the deployment this process runs in (shown in logs and metrics)"`
	GRPCAddr    string `env:"FLOE_GRPC_ADDR" flag:"grpc-addr" default:"127.0.0.1:7400" usage:"gRPC listen address (port 0 picks a free port)"`
	AdminAddr   string `env:"FLOE_ADMIN_ADDR" flag:"admin-addr" default:"127.0.0.1:7401" usage:"HTTP admin listen address for /metrics, /healthz and /readyz"`
	LogLevel    string `env:"FLOE_LOG_LEVEL" flag:"log-level" default:"info" usage:"log level: debug, info, warn or error"`
	LogFormat   string `env:"FLOE_LOG_FORMAT" flag:"log-format" default:"json" usage:"log format: json or console"`

	OTLPEndpoint string `env:"FLOE_OTLP_ENDPOINT" flag:"otlp-endpoint" usage:"OTLP/gRPC trace collector host:port; empty exports no traces (trace ids are still propagated and logged)"`
	OTLPInsecure bool   `env:"FLOE_OTLP_INSECURE" flag:"otlp-insecure" usage:"send OTLP traces without TLS"`

	TLSCert string `env:"FLOE_TLS_CERT" flag:"tls-cert" usage:"PEM certificate for the gRPC listener; empty serves plaintext (loopback development only)"`
	TLSKey  string `env:"FLOE_TLS_KEY" flag:"tls-key" usage:"PEM private key for --tls-cert"`
	// Peer TLS: how this process calls other Floe services' gRPC APIs (the
	// console's routes, the notifier's release service) when they serve
	// TLS (--tls-cert).
	PeerTLS   bool   `env:"FLOE_PEER_TLS" flag:"peer-tls" usage:"call other Floe services' gRPC APIs over TLS, verifying their certificates with the system's roots or --peer-tls-ca"`
	PeerTLSCA string `env:"FLOE_PEER_TLS_CA" flag:"peer-tls-ca" usage:"PEM CA certificates that verify other Floe services' gRPC certificates (implies --peer-tls)"`

	NATS    NATSConfig
	Auth    AuthConfig
	Signing SigningConfig

	ShutdownTimeout time.Duration `env:"FLOE_SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" default:"20s" usage:"how long a graceful shutdown may take before in-flight work is cut off"`
}

// NATSConfig selects the NATS server.
type NATSConfig struct {
	URL        string `env:"FLOE_NATS_URL" flag:"nats-url" usage:"external NATS URL(s), comma-separated, e.g. nats://floe-release:PASSWORD@nats-1:4222 (the password is never printed); empty starts an embedded JetStream server on --data-dir" secret:"userinfo"`
	Creds      string `env:"FLOE_NATS_CREDS" flag:"nats-creds" usage:"NATS credentials file for --nats-url"`
	DataDir    string `env:"FLOE_DATA_DIR" flag:"data-dir" default:".floe" usage:"directory for embedded NATS data and local state"`
	Listen     string `env:"FLOE_NATS_LISTEN" flag:"nats-listen" default:"127.0.0.1:7422" usage:"client address of the embedded NATS server (empty: in-process only)"`
	SyncAlways bool   `env:"FLOE_NATS_SYNC_ALWAYS" flag:"nats-sync-always" usage:"embedded NATS fsyncs every write before acknowledging (production durability)"`
	Replicas   int    `env:"FLOE_NATS_REPLICAS" flag:"nats-replicas" usage:"replicas of the streams and buckets this process creates (default: as many as the event log stream has; 1 on an embedded NATS)"`
}

// StreamReplicas is the replication of what the process creates: Replicas;
// 0 (unset) on an external NATS, where the service takes the event log
// stream's; 1 on an embedded one.
func (n NATSConfig) StreamReplicas() int {
	switch {
	case n.Replicas > 0:
		return n.Replicas
	case n.URL != "":
		return 0
	}
	return 1
}

// SigningConfig names the process's writer key and the keys it trusts.
type SigningConfig struct {
	Key        string `env:"FLOE_SIGNING_KEY" flag:"signing-key" usage:"ed25519 private key (PKCS#8 PEM) this service signs its events with; required with --nats-url (default on an embedded NATS: <data-dir>/keys/<service>.key, created)" secret:"true"`
	TrustStore string `env:"FLOE_TRUST_STORE" flag:"trust-store" usage:"trust store (JSON, floe-trust/v1): the writer keys whose events this process accepts; required with --nats-url (default on an embedded NATS: <data-dir>/keys/trust.json)"`
}

// AuthConfig selects how callers are authenticated.
type AuthConfig struct {
	TokensFile     string `env:"FLOE_TOKENS_FILE" flag:"tokens-file" usage:"tokens file (principals, roles, SHA-256 token hashes)"`
	OIDCIssuer     string `env:"FLOE_OIDC_ISSUER" flag:"oidc-issuer" usage:"OIDC issuer URL; enables JWT bearer tokens"`
	OIDCAudience   string `env:"FLOE_OIDC_AUDIENCE" flag:"oidc-audience" usage:"expected JWT audience"`
	OIDCJWKSURL    string `env:"FLOE_OIDC_JWKS_URL" flag:"oidc-jwks-url" usage:"JWKS URL (default: from the issuer's discovery document)"`
	OIDCRolesClaim string `env:"FLOE_OIDC_ROLES_CLAIM" flag:"oidc-roles-claim" default:"floe_roles" usage:"JWT claim listing roles as \"role\" or \"role:env1,env2\""`
}

// Validate reports every problem with the configuration at once.
func (b *Base) Validate() error {
	var v errs.Violations
	if b.Environment == "" {
		v.Add("environment", "must not be empty")
	}
	checkAddr(&v, "grpc-addr", b.GRPCAddr, false)
	checkAddr(&v, "admin-addr", b.AdminAddr, false)
	if b.NATS.Replicas < 0 || b.NATS.Replicas > 5 {
		v.Add("nats-replicas", "%d is not 1 to 5 (JetStream replicates a stream at most 5 times)", b.NATS.Replicas)
	}
	if b.NATS.URL == "" {
		if b.NATS.DataDir == "" {
			v.Add("data-dir", "is required when --nats-url is empty (an embedded NATS server stores its data there)")
		}
		checkAddr(&v, "nats-listen", b.NATS.Listen, true)
	}
	switch strings.ToLower(b.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		v.Add("log-level", "%q is not one of debug, info, warn, error", b.LogLevel)
	}
	switch b.LogFormat {
	case "json", "console":
	default:
		v.Add("log-format", "%q is not one of json, console", b.LogFormat)
	}
	if (b.TLSCert == "") != (b.TLSKey == "") {
		v.Add("tls-cert", "--tls-cert and --tls-key go together")
	}
	if b.Auth.TokensFile == "" && b.Auth.OIDCIssuer == "" {
		v.Add("tokens-file", "no authenticator: set --tokens-file or --oidc-issuer (every RPC needs a bearer token)")
	}
	if (b.Auth.OIDCIssuer == "") != (b.Auth.OIDCAudience == "") {
		v.Add("oidc-audience", "--oidc-issuer and --oidc-audience go together")
	}
	if b.ShutdownTimeout <= 0 {
		v.Add("shutdown-timeout", "must be positive")
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}

func checkAddr(v *errs.Violations, field, addr string, emptyOK bool) {
	if addr == "" {
		if !emptyOK {
			v.Add(field, "must not be empty")
		}
		return
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		v.Add(field, "%q is not host:port (%v)", addr, err)
	}
}
