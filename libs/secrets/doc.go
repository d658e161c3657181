// Package secrets is the flag service's handling of secret values: a Value
// that will not print, references (secret://<name>, vault://<path>#<key>)
// that configuration holds instead of values, a Provider port with two
// implementations (the built-in envelope-encrypted store in natsstore and
// HashiCorp Vault KV v2 in vault), and the Keyring and envelope encryption
// the built-in store is made of. secretstest is the Provider conformance
// suite both backends run; leakcheck finds a value (plain, hex, base64) in
// whatever a test captured (event log, logs, responses).
//
// # Threat model
//
// The event log is append-only and replicated to every auditor, so anything
// written to it is disclosed for ever; logs, traces, metrics, error
// messages and API responses travel almost as far. A secret value therefore
// never enters any of them: the log records a secret's name, version, key
// id, the digest of its ciphertext and the actor; reads return references
// and that metadata; a reference is resolved to a Value only at delivery.
// Value redacts itself in every format (fmt, JSON, text, slog, zerolog), and
// errors name secrets and versions, never values.
//
// The built-in store keeps each version's ciphertext in a NATS KV bucket,
// outside the log, encrypted with AES-256-GCM under a random data key (DEK)
// of its own; the DEK is kept only wrapped by a key-encryption key (KEK)
// from a file or an environment variable, with the secret's name, version
// and the KEK's id as additional data, so a record moved to another name or
// version, or a tampered one, does not open. Destroying a version purges its
// record and with it the only copy of its wrapped DEK: a copy of the
// ciphertext that leaked earlier (from a message dump, say) can no longer be
// decrypted, even by someone who holds the KEK. A copy of the whole bucket
// (a backup) stays readable while its KEK exists, which is what KEK rotation
// is for: add a KEK, Rewrap every live version, then delete the old KEK, and
// old backups become unreadable. What is out of scope: an attacker who holds
// both the bucket and the current KEK, or the memory of the running process.
package secrets
