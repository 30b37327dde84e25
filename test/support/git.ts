import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

let installed: boolean | undefined;

/** True when git is installed; otherwise skips the test with the reason, or fails it under CI=true. */
export function gitOrSkip(t: TestContext): boolean {
  if (installed === undefined) {
    try {
      execFileSync('git', ['--version'], { stdio: 'ignore' });
      installed = true;
    } catch {
      installed = false;
    }
  }
  if (installed) return true;
  if (process.env.CI === 'true') assert.fail('git is required in CI (Debian package: git)');
  t.skip('git is not installed (Debian package: git)');
  return false;
}
