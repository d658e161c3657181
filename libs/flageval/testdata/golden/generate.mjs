// Generates expected.json: the result of evaluating every flag of flags.json
// for many evaluation contexts with the official OpenFeature JS flagd
// evaluator (@openfeature/flagd-core). The Go golden test
// (../../golden_test.go) compares Floe's evaluator with every entry.
//
//   npm ci && node generate.mjs
//
// Everything is deterministic: contexts come from a seeded PRNG and
// Date.now() is pinned so that $flagd.timestamp is FIXED_NOW.
import { readFileSync, writeFileSync } from 'node:fs';
import { FlagdCore, MemoryStorage } from '@openfeature/flagd-core';

// $flagd.timestamp seen by targeting (2026-01-01T01:00:00Z). The Go test
// uses the same instant.
export const FIXED_NOW = 1767229200;
Date.now = () => FIXED_NOW * 1000;

const silent = { error() {}, warn() {}, info() {}, debug() {} };
const config = readFileSync(new URL('./flags.json', import.meta.url), 'utf8');

// Strict mode: the golden definition must satisfy flagd's JSON schema.
const storage = new MemoryStorage(silent);
try {
  storage.setConfigurations(config, true);
} catch (err) {
  const details = err.message.replace(/^[^[]*/, '');
  let errors = [];
  try {
    errors = JSON.parse(details);
  } catch {
    console.error(err.message, err.cause ?? '');
    process.exit(1);
  }
  const seen = new Set(errors.map((e) => `${e.instancePath}: ${e.message}`));
  console.error('flags.json does not satisfy the flagd schema:\n  ' + [...seen].join('\n  '));
  process.exit(1);
}
const core = new FlagdCore(storage, silent);

// ---- deterministic contexts ----
function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20260101);
const pick = (l) => l[Math.floor(rand() * l.length)];
const maybe = (p) => rand() < p;

const pools = {
  email: ['alice@corp.example', 'admin@corp.example', 'bob@example.com', 'admin.carol@partner.io',
    'dave@startup.io', 'erin@corp.example.org', 'frank@corp.examples.net', ''],
  tier: ['gold', 'silver', 'platinum', 'beta', 'free', ''],
  n: [-5, 0, 1, 3, 3.5, 9, 10, 11, 17, 25, 41, 42, 50, 77, 99, 100, 1000],
  ns: ['1', '42', '1e1', '0.5', '-3'],
  s: ['ab', 'abc', 'm', 'a', 'z', 'longer', '', 'Mango', 'xyz-ger', '1', 'abracadabra'],
  version: ['1.2.3', '1.2.4', '1.2.2', '1.3.0', '1.10.0', '2.0.0', '0.9.9', '1.2.3-beta.1', '2.0.0-beta.1',
    '2.0.0-beta.2', '2.0.0-beta.11', '2.0.0-rc.1', 'v1.2.3', 'V2.0.0', '1.2', '1', '1.2.3+build.5',
    'not-a-version', '1.02.3', '', '1.2.3.4', 1.2, 2],
  roles: [['admin'], ['dev', 'ops'], [], ['ops', 'admin']],
  cart: [[10, 20, 30], [50, 60], [5], [], [-1, 200], [1, 2, 3]],
  color: ['red', 'green', 'blue', 'purple', ''],
};

function randomContext(i) {
  const ctx = {};
  if (maybe(0.8)) ctx.targetingKey = maybe(0.5) ? `user-${Math.floor(rand() * 120)}` : `session-${i}`;
  for (const [k, pool] of Object.entries(pools)) {
    if (maybe(0.7)) ctx[k] = pick(pool);
  }
  if (maybe(0.5)) ctx.beta = maybe(0.5);
  if (maybe(0.4)) ctx.blocked = maybe(0.5);
  if (maybe(0.6)) {
    ctx.user = { id: `u-${Math.floor(rand() * 1000)}` };
    if (maybe(0.7)) ctx.user.age = pick([12, 17, 18, 30, 65]);
  }
  return ctx;
}

// Shared contexts, evaluated against every flag.
const shared = [
  {},
  { targetingKey: 'user-1' },
  { targetingKey: 'user-42', tier: 'gold', n: 42, email: 'admin@corp.example', version: '1.2.3' },
  { tier: 'platinum', n: 100, s: 'abc', roles: ['admin'], cart: [50, 60] },
  { email: 'bob@example.com', version: '2.0.0', beta: true, blocked: false, user: { id: 'u-1', age: 18 } },
];
for (let i = 0; i < 200; i++) shared.push(randomContext(i));

// Many distinct targeting keys for fractional flags, plus some with
// attributes used by custom bucketing.
const keyed = [];
for (let i = 0; i < 1200; i++) {
  const ctx = { targetingKey: i % 3 === 0 ? `user-${i}` : `${(i * 2654435761 >>> 0).toString(16)}-${i}` };
  ctx.email = `person${i}@${pick(['corp.example', 'example.com', 'startup.io'])}`;
  ctx.user = { id: `u-${i}` };
  keyed.push(ctx);
}
// Non-ASCII targeting keys and bucketing values (see go_overrides.json).
const unicode = [
  { targetingKey: 'ünïcödé', email: 'zoë@corp.example', user: { id: 'ü-1' } },
  { targetingKey: '日本語のキー', email: '名前@example.com', user: { id: '日本' } },
  { targetingKey: 'emoji-🎉', email: 'party🎉@example.com', user: { id: '🎉' } },
];

// Flags whose results differ between flagd's Go and JS evaluators on
// purpose-built contexts; go_overrides.json records the Go results.
const divergent = [
  {},
  { targetingKey: 'user-1' },
  { n: 5 },
  { n: 0 },
  { n: 2 },
  { a: ' x', b: 'y ' },
  { a: 'x' },
  { a: 'x', b: 1e21 },
  { a: 'x', b: 'y' },
  { targetingKey: 'user-1', user: {} },
  { targetingKey: 'user-2' },
  { targetingKey: 'user-3', user: { id: 'u-9' } },
  { version: ' 1.2.3' },
  { version: '1.2.3' },
  { cart: [1, 2] },
  { s: 'abc' },
  { s: ' 3' },
  { s: '3' },
  { v: 'a&b' },
  { v: 'plain' },
  { targetingKey: 123 },
];

const flagKeys = [...core.getFlags().keys()];
const divergentFlags = flagKeys.filter((k) => k.startsWith('js-diverges-'));
const fractionalFlags = flagKeys.filter((k) => k.startsWith('fractional'));

// contexts[i] is evaluated against the flags listed with it.
const contexts = [];
const cases = []; // [flag, context index]
const allFlags = [...flagKeys, 'no-such-flag'];
const commonFlags = allFlags.filter((k) => !divergentFlags.includes(k));
for (const ctx of shared) {
  contexts.push(ctx);
  for (const key of commonFlags) cases.push([key, contexts.length - 1]);
}
for (const ctx of divergent) {
  contexts.push(ctx);
  for (const key of divergentFlags) cases.push([key, contexts.length - 1]);
}
for (const ctx of [...keyed, ...unicode]) {
  contexts.push(ctx);
  for (const key of fractionalFlags) cases.push([key, contexts.length - 1]);
}

// ---- evaluate ----
// The generic resolution of FlagdCore.resolve, without the type check:
// not found → FLAG_NOT_FOUND; DISABLED → reason DISABLED without a value;
// otherwise FeatureFlag.evaluate.
function evaluate(key, ctx) {
  const flag = core.getFlag(key);
  if (!flag) return { reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', flagMetadata: {} };
  if (flag.state === 'DISABLED') return { reason: 'DISABLED', flagMetadata: flag.metadata };
  return flag.evaluate(ctx, silent);
}

// Flag metadata is the same for every evaluation of a flag: record it once.
const flagMetadata = {};
const results = cases.map(([key, ci]) => {
  const r = evaluate(key, contexts[ci]);
  const md = JSON.stringify(r.flagMetadata ?? {});
  if (key in flagMetadata && JSON.stringify(flagMetadata[key]) !== md) throw new Error(`metadata of ${key} varies`);
  flagMetadata[key] = r.flagMetadata ?? {};
  // [flag index, context index, reason, variant, value, errorCode]; null when absent
  return [allFlags.indexOf(key), ci, r.reason, r.variant ?? null, r.value === undefined ? null : r.value, r.errorCode ?? null];
});

const version = JSON.parse(readFileSync(new URL('./node_modules/@openfeature/flagd-core/package.json', import.meta.url), 'utf8')).version;
const lines = [
  '{',
  `"generator": ${JSON.stringify('@openfeature/flagd-core ' + version)},`,
  `"now": ${FIXED_NOW},`,
  '"columns": ["flag (index into flags)", "context (index into contexts)", "reason", "variant", "value", "errorCode"],',
  `"flags": ${JSON.stringify(allFlags)},`,
  `"flagMetadata": ${JSON.stringify(flagMetadata)},`,
  '"contexts": [',
  contexts.map((c) => JSON.stringify(c)).join(',\n'),
  '],',
  '"results": [',
  results.map((r) => JSON.stringify(r)).join(',\n'),
  ']',
  '}',
];
writeFileSync(new URL('./expected.json', import.meta.url), lines.join('\n') + '\n');
const reasons = {};
for (const r of results) {
  const k = r[2] + (r[5] ? '/' + r[5] : '');
  reasons[k] = (reasons[k] || 0) + 1;
}
console.log(`wrote ${results.length} evaluations of ${allFlags.length} flag keys over ${contexts.length} contexts`, reasons);
