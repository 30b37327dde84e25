/**
 * Child process for crash-writes.test.ts: registers model versions and moves the champion pointer in a
 * loop (promote, now and then roll back), announcing each step on stdout *before* and *after* it, until killed.
 *   node --import tsx registry-writer.ts MODELS_DIR TEMPLATE_MANIFEST.json
 */
import { readFileSync } from 'node:fs';
import { Registry, type Manifest } from '../../../src/registry/registry.ts';

const [dir, templateFile] = process.argv.slice(2);
const template = JSON.parse(readFileSync(templateFile, 'utf8')) as Manifest & { artifact: unknown };
const registry = new Registry(dir);
const say = (line: string) => process.stdout.write(line + '\n');

for (let i = 0; ; i++) {
  const { artifact, id: _id, created_at: _c, code_version: _v, sha256: _s, artifact_bytes: _b, ...rest } = template;
  const m = registry.register({ ...rest, status: 'challenger', metrics: { ...rest.metrics, iteration: i }, artifact });
  say(`registered ${m.id}`);
  if (i % 4 === 3) {
    // Roll back to what Registry.rollback will pick: the newest previous champion (not the current one) that still verifies.
    const current = registry.championId();
    const target = [...registry.history()].reverse().find((id) => {
      if (id === current) return false;
      try {
        registry.readArtifact(id);
        return true;
      } catch {
        return false;
      }
    });
    if (target) {
      say(`setting ${target}`);
      say(`champion ${registry.rollback()}`);
      continue;
    }
  }
  say(`setting ${m.id}`);
  registry.setChampion(m.id);
  say(`champion ${m.id}`);
}
