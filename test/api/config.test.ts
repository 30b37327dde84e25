import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ConfigError, hashApiKey, loadConfig, parseApiKeys } from '../../src/config.ts';
import { findKey } from '../../src/api/auth.ts';

test('defaults: port 8080, data/ and models/, UTC, thresholds 0.3/0.7, loopback without keys', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.dataDir, 'data/');
  assert.equal(c.modelsDir, 'models/');
  assert.equal(c.timezone, 'UTC');
  assert.deepEqual(c.thresholds, { medium: 0.3, high: 0.7 });
  assert.equal(c.localOnly, true);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.circuit.failureThreshold, 5);
  assert.equal(c.circuit.cooldownMs, 300_000);
  assert.equal(c.policy.highRiskPeriods.length, 2);
});

test('with keys the configured host is used; a host cannot widen a keyless server', () => {
  assert.equal(loadConfig({ RISKGATE_API_KEYS: 'ci:score:0123456789abcdefXYZ' }).host, '0.0.0.0');
  assert.equal(loadConfig({ RISKGATE_HOST: '0.0.0.0' }).host, '127.0.0.1');
});

test('invalid values throw naming the variable', () => {
  const bad: [Record<string, string>, string][] = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ RISKGATE_TIMEZONE: 'Mars/Olympus' }, 'RISKGATE_TIMEZONE'],
    [{ RISKGATE_RISK_HIGH: '1.5' }, 'RISKGATE_RISK_HIGH'],
    [{ RISKGATE_RISK_HIGH: '0.2', RISKGATE_RISK_MEDIUM: '0.4' }, 'RISKGATE_RISK_HIGH'],
    [{ RISKGATE_API_KEYS: 'ci:score' }, 'RISKGATE_API_KEYS'],
    [{ RISKGATE_API_KEYS: 'ci:deploy:0123456789abcdefXYZ' }, 'RISKGATE_API_KEYS'],
    [{ RISKGATE_API_KEYS: 'ci:score:short' }, 'RISKGATE_API_KEYS'],
    [{ RISKGATE_API_KEYS: 'ci:score:sha256:abc' }, 'RISKGATE_API_KEYS'],
    [{ RISKGATE_API_KEYS: 'a:score:0123456789abcdefXYZ,a:report:0123456789abcdefXYZ' }, 'RISKGATE_API_KEYS'],
    [{ RISKGATE_MAINTENANCE_WINDOWS: 'Funday 02:00-03:00' }, 'RISKGATE_MAINTENANCE_WINDOWS'],
    [{ RISKGATE_HIGH_RISK_PERIODS: 'Fri 25:00-26:00' }, 'RISKGATE_HIGH_RISK_PERIODS'],
    [{ RISKGATE_CIRCUIT_FAILURES: '0' }, 'RISKGATE_CIRCUIT_FAILURES'],
    [{ RISKGATE_METRICS_AUTH: 'maybe' }, 'RISKGATE_METRICS_AUTH'],
    [{ RISKGATE_LOG_LEVEL: 'loud' }, 'RISKGATE_LOG_LEVEL'],
    [{ RISKGATE_PROMETHEUS_URL: 'prometheus:9090' }, 'RISKGATE_PROMETHEUS_URL'],
    [{ RISKGATE_ATTRIBUTION: 'shapley' }, 'RISKGATE_ATTRIBUTION'],
    [{ RISKGATE_WORKERS: '0' }, 'RISKGATE_WORKERS'],
    [{ RISKGATE_WORKERS: '1.5' }, 'RISKGATE_WORKERS'],
    [{ RISKGATE_WORKERS: 'many' }, 'RISKGATE_WORKERS'],
    [{ RISKGATE_WORKERS: '-2' }, 'RISKGATE_WORKERS'],
    [{ RISKGATE_WORKERS: '1000' }, 'RISKGATE_WORKERS'],
  ];
  for (const [env, name] of bad) {
    assert.throws(
      () => loadConfig(env),
      (e: unknown) => e instanceof ConfigError && e.variable === name && e.message.startsWith(name),
      JSON.stringify(env),
    );
  }
});

test('RISKGATE_WORKERS: 1 by default, an integer, or "auto" for one per CPU', () => {
  assert.equal(loadConfig({}).workers, 1);
  assert.equal(loadConfig({ RISKGATE_WORKERS: ' 3 ' }).workers, 3);
  assert.equal(loadConfig({ RISKGATE_WORKERS: 'AUTO' }).workers, availableParallelism());
});

test('API keys are kept only as sha256 hashes and matched by hash', () => {
  const token = 'tok-0123456789abcdef';
  const keys = parseApiKeys(`ci:score+report:${hashApiKey(token)},raw:admin:another-token-123456`);
  assert.deepEqual(keys[0].scopes, ['score', 'report']);
  assert.deepEqual(keys[0].hash, createHash('sha256').update(token).digest());
  assert.ok(!JSON.stringify(keys).includes('another-token'), 'raw tokens are hashed on load');
  assert.equal(findKey(keys, token)?.name, 'ci');
  assert.equal(findKey(keys, 'another-token-123456')?.name, 'raw');
  assert.equal(findKey(keys, 'tok-0123456789abcdeX'), undefined);
});

test('the README configuration table and `serve --help` list every variable the service reads', async () => {
  const { ENV_VARS } = await import('../../src/config.ts');
  const { BACKGROUND_ENV_VARS } = await import('../../src/config/background.ts');
  const { help } = await import('../../src/commands/serve.ts');
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Architecture'));
  const names = [...Object.keys(ENV_VARS), ...Object.keys(BACKGROUND_ENV_VARS)];
  assert.ok(names.length > 30);
  for (const name of names) {
    assert.ok(table.includes('`' + name + '`'), `README configuration table lacks ${name}`);
    assert.ok(help.includes(name), `serve --help lacks ${name}`);
  }
});
