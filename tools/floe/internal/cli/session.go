package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/penguinmails/floe/libs/runtime"
)

// stateDirEnv names the directory where floe keeps its session positions.
const stateDirEnv = "FLOE_STATE_DIR"

// sessionPositions gives the command line read-your-writes across
// invocations. The server reports, in the floe-position response header, the
// event-log position a command wrote; sessionPositions remembers the highest
// one per server (in a file of the state directory) and sends it with every
// call as floe-min-position, so that a query answers only once its views
// include that write: `floe release approve X` then `floe release list`
// never shows the release before the approval.
//
// Nothing here fails a command: an unreadable or corrupt file counts as
// position 0, and a position that cannot be saved is kept for the current
// invocation only.
type sessionPositions struct {
	// file holds the server's position; "" when there is no state
	// directory (positions are then kept in memory only).
	file string

	mu   sync.Mutex
	last uint64 // the highest position this process has seen
}

// newSessionPositions returns the positions of server (its address as
// dialled), kept in the state directory: $FLOE_STATE_DIR, else floe/ in the
// user's cache directory.
func newSessionPositions(server string) *sessionPositions {
	s := &sessionPositions{}
	if dir := stateDir(); dir != "" {
		s.file = filepath.Join(dir, positionFileName(server))
	}
	return s
}

// stateDir is $FLOE_STATE_DIR, else floe/ in the user's cache directory, or
// "" when there is neither.
func stateDir() string {
	if dir := os.Getenv(stateDirEnv); dir != "" {
		return dir
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(cache, "floe")
}

// positionFileName is "position-" and the first 16 hex digits of the
// SHA-256 of the server's address.
func positionFileName(server string) string {
	sum := sha256.Sum256([]byte(server))
	return "position-" + hex.EncodeToString(sum[:])[:16]
}

// position is the highest position known for the server: this process's or
// the file's (which another invocation may have moved up).
func (s *sessionPositions) position() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.last, s.stored())
}

// advance records pos if it is beyond the known position. It saves the
// higher of pos and the file's current value, so the stored position never
// moves down; a failure to save is ignored.
func (s *sessionPositions) advance(pos uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = max(s.last, pos)
	if s.file == "" || s.stored() >= s.last {
		return
	}
	_ = s.save(s.last)
}

// stored reads the file's position: 0 when it is missing, unreadable or
// corrupt.
func (s *sessionPositions) stored() uint64 {
	if s.file == "" {
		return 0
	}
	b, err := os.ReadFile(s.file)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// save writes pos to the file atomically: a temporary file in the same
// directory (mode 0600; the directory is created with 0700), then renamed.
func (s *sessionPositions) save(pos uint64) error {
	dir := filepath.Dir(s.file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("session position: create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(s.file)+".*.tmp")
	if err != nil {
		return fmt.Errorf("session position: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("session position: chmod %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.WriteString(strconv.FormatUint(pos, 10) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("session position: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("session position: write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), s.file); err != nil {
		return fmt.Errorf("session position: %w", err)
	}
	return nil
}

// withMinPosition adds floe-min-position to ctx's outgoing metadata when a
// position is known.
func (s *sessionPositions) withMinPosition(ctx context.Context) context.Context {
	if pos := s.position(); pos > 0 {
		return metadata.AppendToOutgoingContext(ctx, runtime.MinPositionHeader, strconv.FormatUint(pos, 10))
	}
	return ctx
}

// unaryInterceptor sends the known position with the call and records the
// position the call wrote (the floe-position response header, which a
// failed command may carry too).
func (s *sessionPositions) unaryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	var header metadata.MD
	err := invoker(s.withMinPosition(ctx), method, req, reply, cc, append(opts, grpc.Header(&header))...)
	for _, v := range header.Get(runtime.PositionHeader) {
		if pos, perr := strconv.ParseUint(v, 10, 64); perr == nil {
			s.advance(pos)
		}
	}
	return err
}

// streamInterceptor sends the known position with a streaming call (the
// streams Floe serves are watches, which write nothing).
func (s *sessionPositions) streamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(s.withMinPosition(ctx), desc, cc, method, opts...)
}
