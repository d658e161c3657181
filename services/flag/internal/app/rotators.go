package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"strconv"

	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/flag/internal/envcfg"
)

// maxRotatorOutput bounds what an exec rotator may print (a secret's limit).
const maxRotatorOutput = 64 << 10

// Rotators make new secret values.
type Rotators struct{}

// Run makes a new value for sec with its policy's rotator. Its errors never
// hold the value nor the rotator's output (which may hold it).
func (Rotators) Run(ctx context.Context, env string, sec *configv1.Secret) (secrets.Value, error) {
	p := sec.GetRotation()
	switch r := p.GetRotator().(type) {
	case *configv1.RotationPolicy_Generate:
		return generate(r.Generate)
	case *configv1.RotationPolicy_Exec:
		return runExec(ctx, env, sec, r.Exec)
	case *configv1.RotationPolicy_Manual:
		return secrets.Value{}, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
			"%s is rotated by hand: put its new value (floe secrets put)", sec.GetName())
	}
	return secrets.Value{}, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
		"%s has no rotation policy: set one (SetRotationPolicy) or put its new value", sec.GetName())
}

// generate draws length characters uniformly from the alphabet.
func generate(g *configv1.GenerateRotator) (secrets.Value, error) {
	alphabet := envcfg.Alphabets[g.GetAlphabet()]
	if alphabet == "" || g.GetLength() == 0 {
		return secrets.Value{}, fmt.Errorf("generate rotator: alphabet %q, length %d", g.GetAlphabet(), g.GetLength())
	}
	out := make([]byte, g.GetLength())
	n := big.NewInt(int64(len(alphabet)))
	for i := range out {
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			return secrets.Value{}, err
		}
		out[i] = alphabet[k.Int64()]
	}
	v := secrets.NewValue(out)
	clear(out)
	return v, nil
}

// runExec runs the exec rotator: its stdout (one trailing newline removed)
// is the value; stderr is discarded, since it may repeat the value.
func runExec(ctx context.Context, env string, sec *configv1.Secret, e *configv1.ExecRotator) (secrets.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, e.GetTimeout().AsDuration())
	defer cancel()
	cmd := exec.CommandContext(ctx, e.GetCommand()[0], e.GetCommand()[1:]...)
	var latest uint64
	for _, v := range sec.GetVersions() {
		latest = max(latest, v.GetVersion())
	}
	cmd.Env = append(os.Environ(), "FLOE_SECRET_NAME="+sec.GetName(), "FLOE_SECRET_ENVIRONMENT="+env,
		"FLOE_SECRET_VERSION="+strconv.FormatUint(latest, 10))
	var out bytes.Buffer
	cmd.Stdout = &limited{w: &out, n: maxRotatorOutput + 1}
	cmd.Stderr = io.Discard
	err := cmd.Run()
	defer clear(out.Bytes())
	switch {
	case ctx.Err() != nil:
		return secrets.Value{}, fmt.Errorf("exec rotator %s ran longer than %s (its output is not recorded: it may hold the value)", e.GetCommand()[0], e.GetTimeout().AsDuration())
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return secrets.Value{}, fmt.Errorf("exec rotator %s failed: %s (its output is not recorded: it may hold the value)", e.GetCommand()[0], ee.ProcessState)
		}
		return secrets.Value{}, fmt.Errorf("exec rotator %s: %v", e.GetCommand()[0], err)
	case out.Len() > maxRotatorOutput:
		return secrets.Value{}, fmt.Errorf("exec rotator %s printed more than %d bytes", e.GetCommand()[0], maxRotatorOutput)
	}
	b := bytes.TrimSuffix(out.Bytes(), []byte("\n"))
	if len(b) == 0 {
		return secrets.Value{}, fmt.Errorf("exec rotator %s printed no value", e.GetCommand()[0])
	}
	return secrets.NewValue(b), nil
}

// limited writes at most n bytes to w and drops the rest.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return len(p), nil
	}
	q := p
	if len(q) > l.n {
		q = q[:l.n]
	}
	l.n -= len(q)
	if _, err := l.w.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}
