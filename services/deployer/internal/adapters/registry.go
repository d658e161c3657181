// Package adapters connects the deployer to NATS: the registry of active
// deployments in a KV bucket and the subscriptions that start deployments.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// RegistryBucket holds which deployment is active in each environment.
const RegistryBucket = "deployer_registry"

// KVRegistry implements app.Registry on a NATS KV bucket: key
// "lock.<app>.<env>" holds the active deployment's id, created with
// compare-and-swap so two deployments can never both hold an environment.
type KVRegistry struct{ kv jetstream.KeyValue }

// OpenRegistry creates or opens the bucket.
func OpenRegistry(ctx context.Context, js jetstream.JetStream, replicas int) (*KVRegistry, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: RegistryBucket, Description: "Floe deployer: active deployment per environment", History: 1, Storage: jetstream.FileStorage,
		Replicas: max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("registry bucket: %w", err)
	}
	return &KVRegistry{kv: kv}, nil
}

func lockKey(app, env string) string { return "lock." + app + "." + env }

// Lock implements app.Registry.
func (r *KVRegistry) Lock(ctx context.Context, app, env, id string) (string, error) {
	_, err := r.kv.Create(ctx, lockKey(app, env), []byte(id))
	if err == nil {
		return "", nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return "", err
	}
	entry, err := r.kv.Get(ctx, lockKey(app, env))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return r.Lock(ctx, app, env, id) // released meanwhile
	}
	if err != nil {
		return "", err
	}
	if holder := string(entry.Value()); holder != id {
		return holder, nil
	}
	return "", nil
}

// Unlock implements app.Registry.
func (r *KVRegistry) Unlock(ctx context.Context, app, env, id string) error {
	entry, err := r.kv.Get(ctx, lockKey(app, env))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if string(entry.Value()) != id {
		return nil
	}
	err = r.kv.Delete(ctx, lockKey(app, env), jetstream.LastRevision(entry.Revision()))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

func liveKey(app, env string) string { return "live." + app + "." + env }

// SetLive implements app.Registry.
func (r *KVRegistry) SetLive(ctx context.Context, app, env, version string) error {
	if version == "" {
		err := r.kv.Delete(ctx, liveKey(app, env))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		return err
	}
	_, err := r.kv.Put(ctx, liveKey(app, env), []byte(version))
	return err
}

// Live implements app.Registry.
func (r *KVRegistry) Live(ctx context.Context, app string) (map[string]string, error) {
	out := map[string]string{}
	lister, err := r.kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	prefix := "live." + app + "."
	for key := range lister.Keys() {
		env, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		entry, err := r.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[env] = string(entry.Value())
	}
	return out, nil
}

// Active implements app.Registry.
func (r *KVRegistry) Active(ctx context.Context) ([]string, error) {
	lister, err := r.kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for key := range lister.Keys() {
		if !strings.HasPrefix(key, "lock.") {
			continue
		}
		entry, err := r.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, string(entry.Value()))
	}
	return out, nil
}
