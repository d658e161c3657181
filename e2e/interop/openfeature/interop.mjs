// Evaluates Floe's flags with software nobody at Floe wrote: the official
// OpenFeature JS server SDK with @openfeature/flagd-provider in in-process
// mode (flagd's sync protocol, flagd.sync.v1.FlagSyncService, against Floe's
// gRPC port) and with @openfeature/ofrep-provider (OFREP over HTTP against
// Floe's OFREP endpoint). Driven by e2e/openfeature_interop_test.go.
//
// Input: a JSON job, from the file named by the first argument or on stdin:
//
//   {
//     "grpc": "127.0.0.1:7400",                  // Floe's gRPC address (plaintext)
//     "selector": "production;token=<token>",    // flagd selector: environment and token
//     "ofrepBaseUrl": "http://127.0.0.1:7402/environments/production",
//     "token": "<token>",                        // sent to OFREP as Authorization: Bearer
//     "cases": [{"id": "...", "key": "...", "type": "boolean|string|number|object",
//                "default": <code default>, "context": {...}}],
//     "kill": {"key": "...", "type": "boolean", "default": false, "context": {...},
//              "timeoutMs": 10000, "pollMs": 2}  // optional
//   }
//
// Output: one JSON object per line on stdout, each prefixed with "@@interop "
// (anything else a library prints goes to stderr, or is ignored):
//
//   {"phase": "results", "results": [{"id", "provider": "in-process"|"ofrep",
//       "value", "variant", "reason", "errorCode", "errorMessage", "flagMetadata"}]}
//   {"phase": "kill-ready", "at": <ms since the Unix epoch>}
//   {"phase": "kill", "inProcess": {...}, "ofrep": {...}}
//
// The kill-switch phase: once both clients evaluate the kill flag to a value
// other than the code default, the script says kill-ready and polls both
// clients (every pollMs) until the flag evaluates to the code default, and
// reports, per provider, when that was first seen (wall-clock milliseconds
// with a fractional part, comparable with the Go test's clock), how many
// evaluations it took, and the evaluation that saw it. The in-process
// provider also reports when it emitted PROVIDER_CONFIGURATION_CHANGED
// naming the flag.
//
// Caching: @openfeature/ofrep-provider 0.1.3 (the newest published) has no
// cache and no polling: every evaluation is one POST to
// <base>/ofrep/v1/evaluate/flags/<key>, so a kill is seen by the next
// evaluation that reaches the server after the flag service's view has it.
// The in-process provider evaluates locally from the flag set Floe pushes on
// its SyncFlags stream (no cache to configure: `cache` applies to RPC mode).

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { FlagdProvider } from '@openfeature/flagd-provider';
import { OFREPProvider } from '@openfeature/ofrep-provider';

// Libraries may print with console.log: keep stdout for the protocol.
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);
OpenFeature.setLogger({
  error: (...a) => console.error('[openfeature error]', ...a),
  warn: (...a) => console.error('[openfeature warn]', ...a),
  info: () => {},
  debug: () => {},
});

const PREFIX = '@@interop ';
function emit(obj) {
  process.stdout.write(PREFIX + JSON.stringify(obj) + '\n');
}

// now is wall-clock time in milliseconds with a sub-millisecond fraction.
function now() {
  return performance.timeOrigin + performance.now();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function readJob() {
  const path = process.argv[2];
  const text = path && path !== '-' ? readFileSync(path, 'utf8') : readFileSync(0, 'utf8');
  const job = JSON.parse(text);
  for (const field of ['grpc', 'selector', 'ofrepBaseUrl', 'token', 'cases']) {
    if (job[field] === undefined) {
      throw new Error(`job: missing ${field}`);
    }
  }
  return job;
}

const getters = {
  boolean: 'getBooleanDetails',
  string: 'getStringDetails',
  number: 'getNumberDetails',
  object: 'getObjectDetails',
};

async function evaluate(client, c) {
  const getter = getters[c.type];
  if (!getter) {
    throw new Error(`case ${c.id}: unknown type ${c.type}`);
  }
  const d = await client[getter](c.key, c.default, c.context ?? {});
  return {
    value: d.value === undefined ? null : d.value,
    variant: d.variant ?? '',
    reason: d.reason ?? '',
    errorCode: d.errorCode ?? '',
    errorMessage: d.errorMessage ?? '',
    flagMetadata: d.flagMetadata ?? {},
  };
}

function sameValue(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// pollUntilDefault evaluates c with client every pollMs until it answers the
// code default, or until the deadline.
async function pollUntilDefault(client, c, pollMs, deadline, startedAt) {
  let evaluations = 0;
  let lastStaleStartedAt = null;
  let lastStaleEndedAt = null;
  while (now() < deadline) {
    const began = now();
    const d = await evaluate(client, c);
    const ended = now();
    evaluations++;
    if (sameValue(d.value, c.default)) {
      return {
        seen: true,
        seenAt: ended,
        seenStartedAt: began,
        evaluations,
        lastStaleStartedAt,
        lastStaleEndedAt,
        details: d,
        pollingSince: startedAt,
      };
    }
    lastStaleStartedAt = began;
    lastStaleEndedAt = ended;
    if (pollMs > 0) {
      await sleep(pollMs);
    }
  }
  return { seen: false, evaluations, lastStaleStartedAt, lastStaleEndedAt, pollingSince: startedAt };
}

async function main() {
  const job = readJob();
  const sep = job.grpc.lastIndexOf(':');
  const host = job.grpc.slice(0, sep);
  const port = Number(job.grpc.slice(sep + 1));

  const inProcess = new FlagdProvider({
    resolverType: 'in-process',
    host,
    port,
    tls: false,
    selector: job.selector,
    // Fail fast in a test rather than retry for long.
    deadlineMs: 5000,
  });
  const ofrep = new OFREPProvider({
    baseUrl: job.ofrepBaseUrl,
    headers: [['Authorization', `Bearer ${job.token}`]],
  });
  await OpenFeature.setProviderAndWait('in-process', inProcess);
  await OpenFeature.setProviderAndWait('ofrep', ofrep);
  const clients = {
    'in-process': OpenFeature.getClient('in-process'),
    ofrep: OpenFeature.getClient('ofrep'),
  };

  // The in-process provider's configuration changes, with their time.
  const changes = [];
  clients['in-process'].addHandler(ProviderEvents.ConfigurationChanged, (details) => {
    changes.push({ at: now(), flagsChanged: details?.flagsChanged ?? [] });
  });

  const results = [];
  for (const c of job.cases) {
    for (const [provider, client] of Object.entries(clients)) {
      results.push({ id: c.id, provider, ...(await evaluate(client, c)) });
    }
  }
  emit({ phase: 'results', results });

  if (job.kill) {
    const k = { id: 'kill', ...job.kill };
    const pollMs = k.pollMs ?? 2;
    // Both must serve the live value before the kill.
    for (const [provider, client] of Object.entries(clients)) {
      const d = await evaluate(client, k);
      if (sameValue(d.value, k.default)) {
        throw new Error(`kill flag ${k.key} already evaluates to the code default through ${provider}: ${JSON.stringify(d)}`);
      }
    }
    const startedAt = now();
    const deadline = startedAt + (k.timeoutMs ?? 10000);
    const polls = Promise.all([
      pollUntilDefault(clients['in-process'], k, pollMs, deadline, startedAt),
      pollUntilDefault(clients.ofrep, k, pollMs, deadline, startedAt),
    ]);
    emit({ phase: 'kill-ready', at: startedAt });
    const [inProc, remote] = await polls;
    const changed = changes.find((ch) => ch.flagsChanged.includes(k.key));
    inProc.configurationChangedAt = changed ? changed.at : null;
    emit({ phase: 'kill', inProcess: inProc, ofrep: remote });
  }
  await OpenFeature.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err?.stack ?? String(err));
    process.exit(1);
  },
);
