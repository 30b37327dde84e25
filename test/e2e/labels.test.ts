import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FEATURES } from '../../src/features/definition.ts';
import { factorText, featureLabel, featureValue } from '../../src/dashboard/labels.ts';

test('factor names and values read as words and units', () => {
  // The README's first answer showed `hours_since_prev_run = 14959.244`.
  assert.equal(factorText('hours_since_prev_run', 14959.244), 'Time since previous run: 623 days');
  assert.equal(factorText('hours_since_prev_run', 249.6), 'Time since previous run: 10.4 days');
  assert.equal(factorText('hours_since_prev_run', 30_000), 'Time since previous run: 3.4 years');
  assert.equal(factorText('hours_since_last_failure', 3.25), 'Time since last failure: 3.3 h');
  assert.equal(factorText('fail_rate_20', 0.45), 'Failure rate, last 20 runs: 45 %');
  assert.equal(factorText('touches_deps', 1), 'Touches dependency manifests: yes');
  assert.equal(factorText('last_outcome', 0), 'Previous run failed: no');
  assert.equal(factorText('weekday', 5), 'Weekday: Friday');
  assert.equal(factorText('hour', 7), 'Hour of day: 07:00');
  assert.equal(factorText('additions', 12000), 'Lines added: 12,000');
  assert.equal(featureValue('churn', null), 'unknown');
  assert.equal(featureValue('churn', NaN), 'unknown');
  assert.equal(featureLabel('some_new_feature'), 'Some new feature');
  for (const f of FEATURES) assert.doesNotMatch(featureLabel(f), /_/, `${f} has a readable name`);
});
