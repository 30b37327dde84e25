import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/**
 * The model registry on disk: one folder per version (artifact, metrics, manifest) and a `champion` pointer.
 * Every file is written to a temporary name, fsynced and renamed, so a crash leaves either the old or the new
 * file, never half of one. An artifact is loaded only if its sha256 matches the manifest.
 */
export type ModelStatus = 'champion' | 'challenger' | 'rejected' | 'retired';

export interface Manifest {
  id: string;
  kind: string;
  created_at: string;
  features: string[];
  data_range: { from: string | null; to: string | null; rows: number };
  code_version: string;
  sha256: string;
  artifact_bytes: number;
  threshold: number;
  status: ModelStatus;
  metrics: Record<string, number>;
  /** Why the status is what it is (e.g. the comparison that rejected a challenger). */
  decision?: Record<string, unknown>;
}

export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

const ARTIFACT = 'model.json';
const MANIFEST = 'manifest.json';
const METRICS = 'metrics.json';
const CHAMPION = 'champion';
const HISTORY = 'champion-history.json';
const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,80}$/;

export function writeFileAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDir(join(file, '..'));
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some filesystems refuse fsync on directories; the rename is still atomic */
  }
}

export const sha256 = (buf: Buffer | string): string => createHash('sha256').update(buf).digest('hex');

let cachedCodeVersion: string | undefined;
export function codeVersion(): string {
  if (cachedCodeVersion) return cachedCodeVersion;
  try {
    cachedCodeVersion = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    cachedCodeVersion = 'unknown';
  }
  return cachedCodeVersion || 'unknown';
}

export class Registry {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private folder(id: string): string {
    if (!ID_PATTERN.test(id)) throw new Error(`invalid model id "${id}"`);
    return join(this.dir, id);
  }

  /** Writes a new version (artifact first, manifest last: a folder without a manifest is not a version). */
  register(
    input: Omit<Manifest, 'id' | 'created_at' | 'code_version' | 'sha256' | 'artifact_bytes'> & { artifact: unknown },
  ): Manifest {
    const created = new Date();
    const id = `${input.kind}-${created
      .toISOString()
      .replace(/[-:T.Z]/g, '')
      .slice(0, 14)}-${randomBytes(3).toString('hex')}`;
    const folder = this.folder(id);
    mkdirSync(folder, { recursive: true });
    const body = Buffer.from(JSON.stringify(input.artifact));
    writeFileAtomic(join(folder, ARTIFACT), body);
    const { artifact: _omit, ...rest } = input;
    const manifest: Manifest = {
      ...rest,
      id,
      created_at: created.toISOString(),
      code_version: codeVersion(),
      sha256: sha256(body),
      artifact_bytes: body.length,
    };
    writeFileAtomic(join(folder, METRICS), JSON.stringify(input.metrics, null, 2));
    writeFileAtomic(join(folder, MANIFEST), JSON.stringify(manifest, null, 2));
    return manifest;
  }

  manifest(id: string): Manifest | undefined {
    const file = join(this.folder(id), MANIFEST);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    } catch {
      return undefined;
    }
  }

  list(): Manifest[] {
    if (!existsSync(this.dir)) return [];
    const out: Manifest[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!ID_PATTERN.test(name)) continue;
      const m = this.manifest(name);
      if (m) out.push(m);
    }
    return out.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  updateStatus(id: string, status: ModelStatus, decision?: Record<string, unknown>): Manifest {
    const m = this.manifest(id);
    if (!m) throw new Error(`no model "${id}"`);
    const next = { ...m, status, ...(decision ? { decision } : {}) };
    writeFileAtomic(join(this.folder(id), MANIFEST), JSON.stringify(next, null, 2));
    return next;
  }

  /** Reads and verifies an artifact; a missing or altered file is an IntegrityError, never a partial load. */
  readArtifact(id: string): { manifest: Manifest; artifact: unknown } {
    const m = this.manifest(id);
    if (!m) throw new IntegrityError(`model ${id}: manifest missing or unreadable`);
    const file = join(this.folder(id), ARTIFACT);
    if (!existsSync(file)) throw new IntegrityError(`model ${id}: artifact missing`);
    const body = readFileSync(file);
    const got = sha256(body);
    if (got !== m.sha256)
      throw new IntegrityError(
        `model ${id}: artifact sha256 ${got.slice(0, 12)}… does not match manifest ${m.sha256.slice(0, 12)}…`,
      );
    return { manifest: m, artifact: JSON.parse(body.toString('utf8')) };
  }

  championId(): string | undefined {
    const file = join(this.dir, CHAMPION);
    if (!existsSync(file)) return undefined;
    const id = readFileSync(file, 'utf8').trim();
    return ID_PATTERN.test(id) ? id : undefined;
  }

  /** Replaces the champion pointer atomically and keeps the previous ones for rollback. */
  setChampion(id: string): void {
    if (!this.manifest(id)) throw new Error(`no model "${id}"`);
    this.readArtifact(id); // refuse to point at a corrupt artifact
    const previous = this.championId();
    if (previous === id) return;
    const history = this.history();
    // A switch killed half-way may already have pushed `previous` (and marked another version champion).
    if (previous && history[history.length - 1] !== previous) history.push(previous);
    writeFileAtomic(join(this.dir, HISTORY), JSON.stringify(history.slice(-50)));
    if (previous && this.manifest(previous)) this.updateStatus(previous, 'retired');
    this.retireOtherChampions(id);
    this.updateStatus(id, 'champion');
    writeFileAtomic(join(this.dir, CHAMPION), id + '\n');
  }

  /**
   * Marks every version but `id` that still says "champion" as retired: the previous champion, and any
   * version a switch killed between its status update and the pointer write left marked (the pointer is
   * what counts; this keeps at most one version saying it is the champion).
   */
  private retireOtherChampions(id: string): void {
    for (const m of this.list()) if (m.status === 'champion' && m.id !== id) this.updateStatus(m.id, 'retired');
  }

  /** Previous champions, oldest first. */
  history(): string[] {
    const file = join(this.dir, HISTORY);
    if (!existsSync(file)) return [];
    try {
      const v = JSON.parse(readFileSync(file, 'utf8'));
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && ID_PATTERN.test(x)) : [];
    } catch {
      return [];
    }
  }

  /** Re-instates the most recent previous champion whose artifact still verifies. */
  rollback(): string {
    const history = this.history();
    const current = this.championId();
    while (history.length > 0) {
      const id = history.pop()!;
      if (id === current) continue;
      try {
        this.readArtifact(id);
      } catch {
        continue;
      }
      writeFileAtomic(join(this.dir, HISTORY), JSON.stringify(history));
      if (current && this.manifest(current)) this.updateStatus(current, 'retired');
      this.retireOtherChampions(id);
      this.updateStatus(id, 'champion');
      writeFileAtomic(join(this.dir, CHAMPION), id + '\n');
      return id;
    }
    throw new Error('no previous champion to roll back to');
  }
}
