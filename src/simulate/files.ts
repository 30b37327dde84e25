/**
 * A repo's file tree and which files each kind of change touches. Paths follow the conventions the feature
 * extractor recognises (src/, test/, docs/, package.json, package-lock.json, .github/workflows/…), so the
 * risk the simulator attaches to them is visible to a model.
 */
import type { Rng } from './prng.ts';

export type ChangeKind = 'feature' | 'bugfix' | 'refactor' | 'docs' | 'deps' | 'ci' | 'test' | 'fixup';

export interface RepoLayout {
  modules: string[];
  /** Source file stems per module (each has a matching test file). */
  stems: Map<string, string[]>;
  docs: string[];
  /** npm packages dependabot bumps. */
  packages: string[];
}

const MODULES = [
  'auth',
  'billing',
  'api',
  'ui',
  'db',
  'utils',
  'search',
  'notifications',
  'reports',
  'jobs',
  'config',
  'cache',
];
const STEMS = [
  'index',
  'client',
  'server',
  'handler',
  'model',
  'store',
  'parser',
  'format',
  'validate',
  'queue',
  'session',
  'router',
  'types',
  'errors',
  'retry',
  'metrics',
];
const DOCS = [
  'docs/architecture.md',
  'docs/api.md',
  'docs/setup.md',
  'docs/operations.md',
  'docs/faq.md',
  'CHANGELOG.md',
  'README.md',
];
const PACKAGES = [
  'express',
  'zod',
  'eslint',
  'typescript',
  'vitest',
  'pino',
  'axios',
  'lodash',
  'react',
  'webpack',
  'prettier',
  'ws',
  'undici',
  'date-fns',
];
const CI_FILES = ['.github/workflows/ci.yml', '.github/workflows/nightly.yml', 'Dockerfile'];

export function repoLayout(rng: Rng): RepoLayout {
  const modules = MODULES.filter(() => rng.chance(0.6));
  if (modules.length < 3) modules.push(...MODULES.slice(0, 3 - modules.length).filter((m) => !modules.includes(m)));
  const stems = new Map<string, string[]>();
  for (const m of modules)
    stems.set(
      m,
      STEMS.filter(() => rng.chance(0.45))
        .concat(['index'])
        .filter((s, i, a) => a.indexOf(s) === i),
    );
  const packages = PACKAGES.filter(() => rng.chance(0.6));
  if (packages.length === 0) packages.push('typescript');
  return { modules, stems, docs: DOCS, packages };
}

function sourceFile(rng: Rng, layout: RepoLayout, mod: string): [string, string] {
  const stem = rng.pick(layout.stems.get(mod)!);
  return [`src/${mod}/${stem}.ts`, `test/${mod}/${stem}.test.ts`];
}

/** Files touched by a change of `kind`; `near` (the work being continued) keeps follow-ups on the same files. */
export function pickFiles(rng: Rng, layout: RepoLayout, kind: ChangeKind, near?: readonly string[]): string[] {
  const out = new Set<string>();
  const nearCode = near?.filter((f) => f.startsWith('src/') || f.startsWith('test/')) ?? [];
  const mod = (): string => {
    const n = nearCode.length ? nearCode[rng.int(0, nearCode.length - 1)].split('/')[1] : undefined;
    return n && layout.stems.has(n) && rng.chance(0.8) ? n : rng.pick(layout.modules);
  };
  switch (kind) {
    case 'feature': {
      const n = 1 + rng.poisson(2);
      for (let i = 0; i < n; i++) {
        const [src, test] = sourceFile(rng, layout, mod());
        out.add(src);
        if (rng.chance(0.7)) out.add(test);
      }
      if (rng.chance(0.1)) out.add(rng.pick(layout.docs));
      if (rng.chance(0.05)) out.add('package.json').add('package-lock.json');
      break;
    }
    case 'bugfix': {
      const n = 1 + rng.poisson(0.5);
      for (let i = 0; i < n; i++) {
        const [src, test] = sourceFile(rng, layout, mod());
        out.add(src);
        if (rng.chance(0.5)) out.add(test);
      }
      break;
    }
    case 'refactor': {
      const n = 5 + rng.poisson(8);
      for (let i = 0; i < n; i++) {
        const [src, test] = sourceFile(rng, layout, rng.pick(layout.modules));
        out.add(src);
        if (rng.chance(0.5)) out.add(test);
      }
      if (rng.chance(0.2)) out.add('tsconfig.json');
      break;
    }
    case 'docs': {
      const n = 1 + rng.poisson(0.6);
      for (let i = 0; i < n; i++) out.add(rng.pick(layout.docs));
      break;
    }
    case 'deps':
      out.add('package.json').add('package-lock.json');
      if (rng.chance(0.15)) out.add(sourceFile(rng, layout, mod())[0]);
      break;
    case 'ci':
      out.add(rng.pick(CI_FILES));
      if (rng.chance(0.2)) out.add(rng.pick(CI_FILES));
      break;
    case 'test': {
      const n = 1 + rng.poisson(1);
      for (let i = 0; i < n; i++) out.add(sourceFile(rng, layout, mod())[1]);
      break;
    }
    case 'fixup': {
      // Fix-ups touch one or two of the files that broke (or a source file of the same module).
      const pool = near && near.length ? near : [sourceFile(rng, layout, mod())[0]];
      const n = 1 + (pool.length > 1 && rng.chance(0.4) ? 1 : 0);
      for (let i = 0; i < n; i++) out.add(pool[rng.int(0, pool.length - 1)]);
      break;
    }
  }
  return [...out].sort();
}
