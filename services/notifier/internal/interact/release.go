package interact

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Via is the channel the release records for decisions made from Slack.
const Via = "slack"

// ReleaseDecider decides through the release service's gRPC API, as the
// notifier's principal acting on behalf of the clicker (auth.OnBehalfOf):
// the release service accepts it only for principals and methods the
// notifier's acts_for grant names, and applies separation of duties to the
// principal.
type ReleaseDecider struct {
	// Addr is the gRPC address (called at the first decision: in floe dev
	// the process's own, known only once it listens).
	Addr func() string
	// TokenFile holds the notifier's own token.
	TokenFile string
	// Dial options (tests); plaintext when empty.
	DialOptions []grpc.DialOption

	once   sync.Once
	client releasev1.ReleaseServiceClient
	token  string
	err    error
}

func (d *ReleaseDecider) connect() (releasev1.ReleaseServiceClient, error) {
	d.once.Do(func() {
		if d.TokenFile == "" || d.Addr == nil || d.Addr() == "" {
			d.err = errors.New("the notifier has no release service to decide through (--notifier-token-file and the gRPC address)")
			return
		}
		b, err := os.ReadFile(d.TokenFile)
		if err != nil {
			d.err = fmt.Errorf("the notifier's token: %w", err)
			return
		}
		d.token = strings.TrimSpace(string(b))
		opts := d.DialOptions
		if len(opts) == 0 {
			opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
		}
		conn, err := grpc.NewClient(d.Addr(), opts...)
		if err != nil {
			d.err = err
			return
		}
		d.client = releasev1.NewReleaseServiceClient(conn)
	})
	return d.client, d.err
}

func (d *ReleaseDecider) ctx(ctx context.Context, principal string) context.Context {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+d.token)
	if o, ok := causal.From(ctx); ok && o.CorrelationID != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", o.CorrelationID)
	}
	return auth.OnBehalfOf(ctx, principal, Via)
}

// Approve implements Decider.
func (d *ReleaseDecider) Approve(ctx context.Context, principal, releaseID, env, comment string) error {
	c, err := d.connect()
	if err != nil {
		return err
	}
	_, err = c.Approve(d.ctx(ctx, principal), &releasev1.ApproveRequest{ReleaseId: releaseID, Environment: env, Comment: comment})
	return err
}

// Reject implements Decider.
func (d *ReleaseDecider) Reject(ctx context.Context, principal, releaseID, env, reason string) error {
	c, err := d.connect()
	if err != nil {
		return err
	}
	_, err = c.Reject(d.ctx(ctx, principal), &releasev1.RejectRequest{ReleaseId: releaseID, Environment: env, Reason: reason})
	return err
}
