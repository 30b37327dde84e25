import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addLook, alwaysValidP, confidenceSequence, EMPTY_EVIDENCE, pooled } from '../../src/canary/sequential.ts';
import { mulberry32, normal } from '../../src/canary/simulator.ts';

test('repeated looks under no difference keep false alarms below alpha, unlike a fixed test', () => {
  const r = mulberry32(11);
  const alpha = 0.05;
  const looks = 30;
  const runs = 2000;
  let seqAlarms = 0;
  let naiveAlarms = 0;
  for (let i = 0; i < runs; i++) {
    let ev = EMPTY_EVIDENCE;
    let seq = false;
    let naive = false;
    for (let l = 0; l < looks; l++) {
      const v = 0.002 + 0.01 * r();
      ev = addLook(ev, Math.sqrt(v) * normal(r), v, 0);
      const p = pooled(ev)!;
      if (alwaysValidP(p.estimate, p.variance, 0, 0.2) <= alpha) seq = true;
      if (Math.abs(p.estimate) / Math.sqrt(p.variance) > 1.96) naive = true;
    }
    if (seq) seqAlarms++;
    if (naive) naiveAlarms++;
  }
  assert.ok(seqAlarms / runs <= alpha, `sequential false-alarm rate ${seqAlarms / runs}`);
  assert.ok(naiveAlarms / runs > 2 * alpha, `a fixed test re-run at every look inflates to ${naiveAlarms / runs}`);
});

test('the confidence sequence covers the true effect and narrows as evidence grows', () => {
  const r = mulberry32(12);
  let ev = EMPTY_EVIDENCE;
  let width = Infinity;
  for (let l = 0; l < 20; l++) {
    ev = addLook(ev, 0.2 + Math.sqrt(0.005) * normal(r), 0.005, 0.3);
    const cs = confidenceSequence(ev, 0.01, 0.2)!;
    assert.ok(cs.lower < 0.2 && cs.upper > 0.2);
    assert.ok(cs.upper - cs.lower < width);
    width = cs.upper - cs.lower;
  }
  assert.ok(confidenceSequence(ev, 0.01, 0.2)!.lower > 0, 'a real effect is eventually detected');
});

test('looks without information (zero variance) add no evidence', () => {
  const ev = addLook(EMPTY_EVIDENCE, 0, 0, 0);
  assert.equal(pooled(ev), undefined);
  assert.equal(ev.looks, 1);
});
