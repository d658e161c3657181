// Package configdoc is the model of an environment's configuration document:
// a versioned JSON object following the guide's EnvironmentConfig (database,
// cache, storage, email, monitoring, security, features) plus sections of the
// user's own, validated against Floe's built-in JSON Schema and an optional
// schema the user supplies.
//
// It holds pure functions only, for the configuration aggregate, its gRPC
// handlers and the CLI to build on:
//
//   - [Parse] decodes a document with limits (1 MiB, depth 32, no duplicate
//     keys); numbers stay json.Number so large integers round-trip.
//   - [Validate] / [Validator] check it against the built-in schema
//     (environment-config.schema.json, draft 2020-12, embedded), the user's
//     schema and leakscan, and return every problem as an
//     *errs.InvalidArgumentError whose fields are dotted JSON paths.
//   - [MergePatch] applies an RFC 7396 JSON merge patch (the "patch" command).
//   - [Diff] and [Format] compare two versions or two environments.
//   - [Refs] lists the secret references to resolve at delivery; [Flatten]
//     gives the environment-variable form delivered to a process.
//   - [Canonical] and [Digest] identify a version's content.
//
// # Paths
//
// A path is dotted: "database.connectionPool.max", array elements as
// "hosts[2]", and keys that are not identifiers (letters, digits, '_', '-',
// not starting with a digit) quoted: `features["new.checkout"].enabled`. The
// document itself is "". Paths are built by leakscan.KeyPath and
// leakscan.IndexPath, so findings of the leak scanner use the same form.
//
// # Secrets
//
// A configuration never holds a credential, only a reference to one:
// secret://<name> or vault://<path>#<key>. The built-in schema requires a
// reference for every credential it knows (database.password, email.apiKey,
// storage.secretAccessKey, …) and a URL without a password, or a reference,
// for connection URLs; leakscan refuses secret-looking values anywhere else,
// user sections included, with the hint to store the value as a secret and
// refer to it as secret://<name>. References are not secrets: Diff shows them
// and Refs lists them.
//
// # Built-in schema
//
// Names follow the guide (camelCase: connectionPool, idleTimeoutMillis). No
// section is required, so a document can grow by patches; inside a built-in
// section unknown keys are refused as likely typos, except keys starting with
// "x-". Features need "enabled". What a schema cannot say is checked in Go:
// database.connectionPool.min must not exceed max.
package configdoc
