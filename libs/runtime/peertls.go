package runtime

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// peerCredentials are the transport credentials with which this process
// calls other Floe services: TLS 1.2 or later verified with the system's
// roots or --peer-tls-ca's certificates when --peer-tls (or --peer-tls-ca)
// is set, plaintext otherwise.
func peerCredentials(b Base) (credentials.TransportCredentials, error) {
	if !b.PeerTLS && b.PeerTLSCA == "" {
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if b.PeerTLSCA != "" {
		pem, err := os.ReadFile(b.PeerTLSCA)
		if err != nil {
			return nil, fmt.Errorf("--peer-tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--peer-tls-ca: %s holds no PEM certificate", b.PeerTLSCA)
		}
	}
	return credentials.NewTLS(cfg), nil
}

// PeerCredentials are the transport credentials for calls to other Floe
// services (--peer-tls, --peer-tls-ca): TLS when set, else plaintext.
func (r *Runtime) PeerCredentials() credentials.TransportCredentials { return r.peerCreds }

// PeerTLS says whether calls to other Floe services use TLS.
func (r *Runtime) PeerTLS() bool { return r.cfg.PeerTLS || r.cfg.PeerTLSCA != "" }
