package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/configdoc"
	"github.com/penguinmails/floe/libs/kernel"
	"github.com/penguinmails/floe/libs/leakscan"
	"github.com/penguinmails/floe/libs/secrets"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// Configuration delivery. The flag service keeps each environment's
// configuration as versions on the envconfig aggregate; the deployer reads
// them from the log (Configs), flattens a version into environment variables
// (configdoc.Flatten) and resolves its secret references through the secrets
// provider. Values go only into driver.Version.Secrets, for the started
// process's environment; the log records the configuration version and the
// secret versions (ConfigDelivered), never a value.
//
// A START step delivers in two passes: the first picks the environment's
// current configuration and the secret version each reference resolves to
// (without reading a value) and records ConfigDelivered; the second, once
// that is in the log, reads exactly those versions and starts the process.
// A deployer that crashes in between delivers what was recorded. A version
// started again later (after a restart of the deployer, or to bring back a
// deployment's previous version) gets the delivery recorded when it was
// deployed — the same configuration and secret versions — recorded again
// as a RESTART.

// ConfigVersion is one version of an environment's configuration, as the
// flag service recorded it (floe.config.v1.ConfigVersionSet).
type ConfigVersion struct {
	// Version counts from 1.
	Version uint64
	// Document is the configuration as canonical JSON.
	Document string
	// Digest identifies the document.
	Digest string
}

// Configs reads configuration versions and earlier deliveries from the log
// (adapters.Configs).
type Configs interface {
	// Latest is the environment's current configuration (ok=false when it has none).
	Latest(ctx context.Context, env string) (cv ConfigVersion, ok bool, err error)
	// Version is version n of the environment's configuration (ok=false when it does not exist).
	Version(ctx context.Context, env string, n uint64) (cv ConfigVersion, ok bool, err error)
	// LastDelivery is the last deployment of version of app that succeeded
	// in env ("" when none did) and its START delivery (nil when there is
	// none, or it delivered no configuration).
	LastDelivery(ctx context.Context, app, env, version string) (deploymentID string, del *deployv1.ConfigDelivered, err error)
}

// TriggerConfig is the rollback trigger of a START step whose configuration
// could not be delivered (a secret reference that does not resolve).
const TriggerConfig = "config"

// deliveryVars is a document's environment-variable form and its secret
// references, each with the variable it is delivered in.
func deliveryVars(document string) (map[string]string, []*deployv1.DeliveredSecret, error) {
	doc, err := configdoc.Parse([]byte(document))
	if err != nil {
		return nil, nil, err
	}
	vars, err := configdoc.Flatten(doc)
	if err != nil {
		return nil, nil, err
	}
	// Find each reference's variable by flattening a copy in which every
	// reference is replaced by a marker naming it.
	var refs []*deployv1.DeliveredSecret
	marked, _ := markRefs("", map[string]any(doc), &refs).(map[string]any)
	mvars, err := configdoc.Flatten(marked)
	if err != nil {
		return nil, nil, err
	}
	for name, v := range mvars {
		for i := range refs {
			switch m := marker(i); {
			case v == m:
				refs[i].Variable = name
			case strings.Contains(v, m):
				return nil, nil, fmt.Errorf("%s (%s) is inside an array, whose variable %s holds JSON: a secret is delivered only as a variable of its own", pathName(refs[i].GetPath()), refs[i].GetReference(), name)
			}
		}
	}
	return vars, refs, nil
}

// marker stands for reference i: plain text, so that it survives an
// array's JSON encoding unchanged.
func marker(i int) string { return "@@floe-secret-reference-" + strconv.Itoa(i) + "@@" }

// markRefs copies v with every secret reference (as configdoc.Refs finds
// them, in the same order) replaced by its marker.
func markRefs(path string, v any, refs *[]*deployv1.DeliveredSecret) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range sortedKeys(v) {
			out[k] = markRefs(leakscan.KeyPath(path, k), v[k], refs)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = markRefs(leakscan.IndexPath(path, i), e, refs)
		}
		return out
	case string:
		if leakscan.IsReference(v) {
			*refs = append(*refs, &deployv1.DeliveredSecret{Path: path, Reference: v})
			return marker(len(*refs) - 1)
		}
	}
	return v
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func pathName(p string) string {
	if p == "" {
		return "the document"
	}
	return p
}

// storeName is a secret's name in the provider: under its environment, as
// the flag service stores it (services/flag/internal/app.storeName).
func storeName(env, name string) (string, error) {
	if strings.ToLower(env) != env {
		return "", fmt.Errorf("environment %q keeps no secrets: secrets are kept for lower-case environment names only", env)
	}
	return env + "/" + name, nil
}

// errNoProvider is the resolution error of a deployer without a secrets provider.
var errNoProvider = errors.New("this deployer has no secrets provider")

// secretVersion is the version a reference resolves to now, without reading
// its value (vault: 0, after checking that the field reads).
func (e *Engine) secretVersion(ctx context.Context, env, ref string) (uint64, error) {
	r, err := secrets.ParseRef(ref)
	if err != nil {
		return 0, err
	}
	if e.cfg.Secrets == nil {
		return 0, errNoProvider
	}
	if r.Scheme == secrets.SchemeVault {
		v, err := e.readVault(ctx, r)
		v.Wipe()
		return 0, err
	}
	name, err := storeName(env, r.Name)
	if err != nil {
		return 0, err
	}
	live, err := e.cfg.Secrets.Versions(ctx, name)
	if err != nil {
		return 0, err
	}
	if r.Version != 0 {
		for _, v := range live {
			if v.Number == r.Version {
				return r.Version, nil
			}
		}
		return 0, secrets.VersionNotFound(name, r.Version)
	}
	if len(live) == 0 {
		return 0, secrets.VersionNotFound(name, 0)
	}
	return live[len(live)-1].Number, nil
}

// secretValue reads the value of a reference at a version secretVersion gave.
func (e *Engine) secretValue(ctx context.Context, env, ref string, version uint64) (secrets.Value, error) {
	r, err := secrets.ParseRef(ref)
	if err != nil {
		return secrets.Value{}, err
	}
	if e.cfg.Secrets == nil {
		return secrets.Value{}, errNoProvider
	}
	if r.Scheme == secrets.SchemeVault {
		return e.readVault(ctx, r)
	}
	name, err := storeName(env, r.Name)
	if err != nil {
		return secrets.Value{}, err
	}
	if version == 0 {
		return secrets.Value{}, secrets.VersionNotFound(name, 0)
	}
	return e.cfg.Secrets.Get(ctx, name, version)
}

func (e *Engine) readVault(ctx context.Context, r secrets.Ref) (secrets.Value, error) {
	fr, ok := e.cfg.Secrets.(secrets.FieldReader)
	if !ok {
		return secrets.Value{}, errors.New("vault:// references need the vault secrets provider (--secrets-provider vault)")
	}
	return fr.ReadField(ctx, r.Path, r.Key)
}

// unresolved is the reason a delivery fails: it names the reference and its
// path, and the provider's error (which never holds a value).
func unresolved(env string, cv uint64, s *deployv1.DeliveredSecret, err error) string {
	return fmt.Sprintf("cannot deliver configuration version %d of %s: %s at %s does not resolve: %v", cv, env, s.GetReference(), pathName(s.GetPath()), err)
}

// planDelivery is what a START step of d delivers: the environment's
// current configuration, each secret reference resolved to a version (no
// value is read). nil when there is nothing to deliver; failed is a reason
// to roll back; err a transient problem (retried).
func (e *Engine) planDelivery(ctx context.Context, d *domain.Deployment) (ev *deployv1.ConfigDelivered, failed string, err error) {
	if e.cfg.Configs == nil {
		return nil, "", nil
	}
	env := d.Environment()
	var (
		cv ConfigVersion
		ok bool
	)
	if cr := d.ConfigRollout(); cr != nil {
		// A configuration-only rollout delivers the version it was asked for.
		if cv, ok, err = e.cfg.Configs.Version(ctx, env, cr.GetConfigVersion()); err == nil && !ok {
			return nil, fmt.Sprintf("configuration version %d of %s is not in the log", cr.GetConfigVersion(), env), nil
		}
	} else {
		cv, ok, err = e.cfg.Configs.Latest(ctx, env)
	}
	if err != nil || !ok {
		return nil, "", err
	}
	_, refs, err := deliveryVars(cv.Document)
	if err != nil {
		return nil, fmt.Sprintf("cannot deliver configuration version %d of %s: %v", cv.Version, env, err), nil
	}
	for _, s := range refs {
		v, err := e.secretVersion(ctx, env, s.GetReference())
		if err != nil {
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			return nil, unresolved(env, cv.Version, s, err), nil
		}
		s.Version = v
	}
	return &deployv1.ConfigDelivered{DeploymentId: d.ID(), Environment: env, Version: d.Version(), ConfigVersion: cv.Version,
		ConfigDigest: cv.Digest, Secrets: refs, Kind: deployv1.ConfigDeliveryKind_CONFIG_DELIVERY_KIND_START}, "", nil
}

// versionInput is what a version is started with: its configuration from
// the deployer's file (VersionConfig), over the recorded delivery del
// (nil: none), whose secrets are read at their recorded versions. The
// caller wipes the secrets after the start.
func (e *Engine) versionInput(ctx context.Context, env, version string, del *deployv1.ConfigDelivered) (cfg map[string]string, sec map[string]secrets.Value, failed string, err error) {
	var own map[string]string
	if e.cfg.VersionConfig != nil {
		own = e.cfg.VersionConfig(driver.Artifact(version))
	}
	if del == nil || e.cfg.Configs == nil {
		return own, nil, "", nil
	}
	cv, ok, err := e.cfg.Configs.Version(ctx, env, del.GetConfigVersion())
	switch {
	case err != nil:
		return nil, nil, "", err
	case !ok:
		return nil, nil, fmt.Sprintf("configuration version %d of %s is not in the log", del.GetConfigVersion(), env), nil
	case cv.Digest != del.GetConfigDigest():
		return nil, nil, fmt.Sprintf("configuration version %d of %s has digest %s, not the %s recorded at delivery", cv.Version, env, cv.Digest, del.GetConfigDigest()), nil
	}
	cfg, _, err = deliveryVars(cv.Document)
	if err != nil {
		return nil, nil, fmt.Sprintf("cannot deliver configuration version %d of %s: %v", cv.Version, env, err), nil
	}
	// The deployer's own per-version settings win over the environment's.
	maps.Copy(cfg, own)
	sec = map[string]secrets.Value{}
	for _, s := range del.GetSecrets() {
		if _, mine := own[s.GetVariable()]; mine {
			continue
		}
		v, err := e.secretValue(ctx, env, s.GetReference(), s.GetVersion())
		if err != nil {
			wipe(sec)
			if ctx.Err() != nil {
				return nil, nil, "", ctx.Err()
			}
			return nil, nil, unresolved(env, cv.Version, s, err), nil
		}
		sec[s.GetVariable()] = v
	}
	return cfg, sec, "", nil
}

func wipe(sec map[string]secrets.Value) {
	for _, v := range sec {
		v.Wipe()
	}
}

// restartVersion starts version in t again as it was delivered: the
// owner's own START delivery for its new version, else the delivery of the
// last deployment of version that succeeded in the environment (none: no
// configuration). The delivery is recorded again, as a RESTART, before the
// start: on owner, the deployment whose runner restarts it, or (owner nil:
// the engine restoring live versions) on the deployment that delivered it.
func (e *Engine) restartVersion(ctx context.Context, t driver.Target, owner *domain.Deployment, version string) error {
	var (
		del       *deployv1.ConfigDelivered
		releaseID string
	)
	switch {
	case owner != nil && version == owner.Version():
		del, releaseID = owner.Delivery(), owner.ArtifactReleaseID()
	case e.cfg.Configs != nil:
		last, d, err := e.cfg.Configs.LastDelivery(ctx, t.App, t.Environment, version)
		if err != nil {
			return fmt.Errorf("the configuration %s was deployed with: %w", version, err)
		}
		del = d
		if last != "" {
			if ld, err := e.Load(ctx, last); err == nil {
				releaseID = ld.ArtifactReleaseID()
			}
		}
	}
	cfg, sec, failed, err := e.versionInput(ctx, t.Environment, version, del)
	if err != nil {
		return err
	}
	if failed != "" {
		return fmt.Errorf("cannot start %s again as it was deployed: %s", version, failed)
	}
	defer wipe(sec)
	if del != nil {
		recordOn, rctx := del.GetDeploymentId(), causal.System(ctx, "deployer", "", "")
		if owner != nil {
			recordOn, rctx = owner.ID(), runnerContext(ctx, owner)
		}
		again := proto.CloneOf(del)
		again.DeploymentId, again.Version, again.Kind, again.DeliveredBy = recordOn, version, deployv1.ConfigDeliveryKind_CONFIG_DELIVERY_KIND_RESTART, del.GetDeploymentId()
		if _, err := e.deployments.Execute(rctx, kernel.Command[*domain.Deployment]{
			ID: recordOn, Decide: func(*domain.Deployment) ([]proto.Message, error) { return []proto.Message{again}, nil },
		}); err != nil {
			return fmt.Errorf("record the delivery to %s: %w", version, err)
		}
	}
	return e.drv.Start(ctx, t, driver.Version{Version: version, ReleaseID: releaseID, Config: cfg, Secrets: sec})
}
