import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { DEFAULT_SIM, makeReleases, mulberry32, sampleInterval } from '../../src/canary/simulator.ts';
import { familySource, makeFamily } from '../../src/canary/family.ts';
import { createRng, poisson, standardNormal } from '../../src/simulate/prng.ts';

test('poisson draws nothing for a mean of 0 or NaN and uses the normal approximation above 30', () => {
  let draws = 0;
  const u = () => (draws++, 0.5);
  assert.equal(poisson(u, 0), 0);
  assert.equal(poisson(u, NaN), 0);
  assert.equal(draws, 0);
  // u = 0.5 twice: Box–Muller gives sqrt(2 ln 2)·cos(π) ≈ -1.177, so 100 + 10·(-1.177) rounds to 88
  assert.equal(poisson(u, 100), 88);
  assert.equal(draws, 2);
});

test('the Rng methods are the shared functions over the same uniform stream', () => {
  const a = createRng(9),
    u = mulberry32(9);
  for (let i = 0; i < 50; i++) assert.equal(a.normal(), standardNormal(u));
  for (let i = 0; i < 50; i++) assert.equal(a.poisson(i % 2 ? 40 : 3), poisson(u, i % 2 ? 40 : 3));
});

// Digest of canary simulator and family samples (means 0, small and above 30) recorded with the simulators'
// own normal and Poisson draws, before they moved to simulate/prng.ts (commit c5d6976): the move must not
// change one sample.
test('canary simulator and family samples are unchanged by the shared PRNG', () => {
  const h = createHash('sha256');
  const cfg = { ...DEFAULT_SIM, perKind: 3 };
  const rels = makeReleases(cfg);
  h.update(JSON.stringify(rels));
  for (const rel of rels) {
    const r = mulberry32(rel.seed);
    for (const w of [1, 5, 50, 100]) h.update(JSON.stringify(sampleInterval(rel, r, w, w * 60, { ...cfg, rps: 2000 })));
  }
  const family = makeFamily(7, 2);
  h.update(JSON.stringify(family));
  for (const rel of family) {
    const src = familySource(rel);
    for (const w of [5, 25, 100]) h.update(JSON.stringify(src.sample(w, w * 60)));
  }
  assert.equal(h.digest('hex'), DIGEST);
});
const DIGEST = 'd3f6bc63d04a999924f33c7391c3f1e2cffc4e35660a65f51a7aedba2aee2de3';
