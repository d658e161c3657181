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
	all, err := r.live(ctx, "live."+app+".*")
	return all[app], err
}

// LiveAll implements app.Registry.
func (r *KVRegistry) LiveAll(ctx context.Context) (map[string]map[string]string, error) {
	return r.live(ctx, "live.>")
}

// live reads the live versions under filter, app → environment → version,
// through one watcher (its initial values, up to the nil that ends them):
// no lookup per key, whatever the number of targets.
func (r *KVRegistry) live(ctx context.Context, filter string) (map[string]map[string]string, error) {
	w, err := r.kv.WatchFiltered(ctx, []string{filter}, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	out := map[string]map[string]string{}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case entry, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("deployer registry: the watcher of live versions stopped")
			}
			if entry == nil {
				return out, nil
			}
			parts := strings.Split(entry.Key(), ".")
			if len(parts) != 3 {
				continue
			}
			if out[parts[1]] == nil {
				out[parts[1]] = map[string]string{}
			}
			out[parts[1]][parts[2]] = string(entry.Value())
		}
	}
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
