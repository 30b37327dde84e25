/**
 * The model registry shared through PostgreSQL, so replicas need no shared volume.
 *
 * Each replica keeps its registry folder (RISKGATE_MODELS_DIR, e.g. an emptyDir) as a local copy; the
 * database holds every version's files, its artifact's bytes and sha256, and the champion pointer. A sync
 * pass, once at start and then every second:
 * - pushes what changed here (a version trained or re-labelled by this replica, a promotion or rollback made
 *   through this replica's API or scheduler), and
 * - pulls what changed elsewhere: versions missing here are downloaded, and a new champion is set locally
 *   only after its bytes match both the database's sha256 and the manifest's; otherwise the old champion
 *   stays in service and the failure is logged once. The serving scorer's registry poll (2 s) then swaps
 *   to it, so a promotion reaches every replica within about 3 s.
 * "Changed here" is told from "changed there" by what the last pass saw on each side. Two replicas changing
 * the pointer in the same second: the later write wins on every replica.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { postgresQuery } from '../store/postgres.ts';
import type { Store } from '../store/types.ts';
import { Registry, sha256, writeFileAtomic, type Manifest } from './registry.ts';

const ARTIFACT = 'model.json';
const MANIFEST = 'manifest.json';
const ID = /^[a-z0-9][a-z0-9-]{0,80}$/;
/** Files of a version other than the artifact and manifest (metrics, drift reference) are synced up to this size each. */
const MAX_EXTRA_BYTES = 8 << 20;

export interface RegistrySync {
  /** One pass now (also what the timer runs). Returns what it did, for logs and tests. */
  syncOnce(): { pushed: string[]; pulled: string[]; champion: string | null; refused: string[] };
  stop(): void;
}

type Log = { info(o: object, m?: string): void; warn(o: object, m?: string): void };

export function startRegistrySync(o: {
  store: Store;
  modelsDir: string;
  intervalMs?: number;
  log?: Log;
  onChampionChanged?: (id: string) => void;
}): RegistrySync | null {
  const sql = postgresQuery(o.store);
  if (!sql) return null;
  const registry = new Registry(o.modelsDir);
  /** Per version, the state both sides had at the last pass: manifest text + extra files fingerprint. */
  const synced = new Map<string, string>();
  let syncedChampion: string | null | undefined;
  const refusedLogged = new Set<string>();

  const localFiles = (id: string): Record<string, string> => {
    const dir = join(o.modelsDir, id);
    const out: Record<string, string> = {};
    for (const name of readdirSync(dir)) {
      if (name === ARTIFACT || name === MANIFEST || name.endsWith('.tmp')) continue;
      const f = join(dir, name);
      const st = statSync(f);
      if (!st.isFile() || st.size > MAX_EXTRA_BYTES) continue;
      out[name] = readFileSync(f, 'utf8');
    }
    return out;
  };
  const localState = (id: string): { manifest: string; files: Record<string, string> } | null => {
    const f = join(o.modelsDir, id, MANIFEST);
    if (!existsSync(f)) return null;
    return { manifest: readFileSync(f, 'utf8'), files: localFiles(id) };
  };
  const key = (manifest: string, files: Record<string, string> | string) =>
    `${manifest}\u0000${typeof files === 'string' ? files : JSON.stringify(files)}`;

  /** Writes a version from the database into the local folder; false when its bytes do not verify. */
  const download = (id: string, want: { sha256: string; manifest: string; files: string }): boolean => {
    const row = sql('SELECT artifact FROM model_versions WHERE id = $1', [id])[0];
    if (!row) return false;
    const bytes = Buffer.from(row.artifact as Uint8Array);
    const m = JSON.parse(want.manifest) as Manifest;
    const got = sha256(bytes);
    if (got !== want.sha256 || got !== m.sha256) {
      if (!refusedLogged.has(id))
        o.log?.warn(
          { model: id, sha256: got, expected: want.sha256 },
          'model from the database does not verify; not used',
        );
      refusedLogged.add(id);
      return false;
    }
    const dir = join(o.modelsDir, id);
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, ARTIFACT), bytes);
    for (const [name, text] of Object.entries(JSON.parse(want.files) as Record<string, string>)) {
      if (name.includes('/') || name.includes('\\') || name.startsWith('.') || name === ARTIFACT || name === MANIFEST)
        continue;
      writeFileAtomic(join(dir, name), text);
    }
    // The manifest last: a folder without one is not a version (as Registry.register writes them).
    writeFileAtomic(join(dir, MANIFEST), want.manifest);
    return true;
  };

  const syncOnce: RegistrySync['syncOnce'] = () => {
    const pushed: string[] = [];
    const pulled: string[] = [];
    const refused: string[] = [];
    const remote = new Map(
      sql('SELECT id, sha256, manifest, files FROM model_versions').map((r) => [
        r.id as string,
        { sha256: r.sha256 as string, manifest: r.manifest as string, files: r.files as string },
      ]),
    );
    const localIds = existsSync(o.modelsDir)
      ? readdirSync(o.modelsDir).filter((n) => ID.test(n) && existsSync(join(o.modelsDir, n, MANIFEST)))
      : [];
    for (const id of localIds) {
      const here = localState(id);
      if (!here) continue;
      const hereKey = key(here.manifest, here.files);
      const there = remote.get(id);
      const thereKey = there ? key(there.manifest, there.files) : null;
      if (hereKey === thereKey) {
        synced.set(id, hereKey);
        continue;
      }
      const last = synced.get(id);
      if (there && (last === hereKey || last === undefined)) {
        // Changed there since the last pass (status, drift reference), or this is the first pass and the
        // database, not a stale local folder, is the truth: take it.
        if (download(id, there)) {
          synced.set(id, thereKey!);
          pulled.push(id);
        } else refused.push(id);
        continue;
      }
      // New here, or changed here since the last pass: push (the bytes only with a new version).
      const m = JSON.parse(here.manifest) as Manifest;
      const filesText = JSON.stringify(here.files);
      if (!there) {
        const bytes = readFileSync(join(o.modelsDir, id, ARTIFACT));
        if (sha256(bytes) !== m.sha256) {
          refused.push(id);
          continue; // a corrupt local copy is not shared
        }
        sql(
          'INSERT INTO model_versions (id, sha256, manifest, files, artifact) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING',
          [id, m.sha256, here.manifest, filesText, bytes],
        );
      } else {
        sql('UPDATE model_versions SET manifest = $2, files = $3 WHERE id = $1', [id, here.manifest, filesText]);
      }
      synced.set(id, key(here.manifest, filesText));
      pushed.push(id);
    }
    for (const [id, there] of remote) {
      if (localIds.includes(id)) continue;
      if (download(id, there)) {
        synced.set(id, key(there.manifest, there.files));
        pulled.push(id);
      } else refused.push(id);
    }

    // The champion pointer.
    const localChampion = registry.championId() ?? null;
    const row = sql('SELECT champion FROM model_pointer')[0];
    const remoteChampion = (row?.champion as string | null | undefined) ?? null;
    let champion = localChampion;
    if (localChampion !== remoteChampion) {
      if (
        syncedChampion === localChampion ||
        localChampion === null ||
        (syncedChampion === undefined && remoteChampion !== null)
      ) {
        // Moved there (or first pass: the database wins over a stale local folder): verify, then follow.
        if (remoteChampion && existsSync(join(o.modelsDir, remoteChampion, MANIFEST))) {
          try {
            registry.setChampion(remoteChampion); // verifies the artifact against its manifest
            champion = remoteChampion;
            syncedChampion = remoteChampion;
            o.log?.info({ model: remoteChampion, previous: localChampion }, 'champion changed by another replica');
            o.onChampionChanged?.(remoteChampion);
          } catch (err) {
            if (!refusedLogged.has(`champion:${remoteChampion}`))
              o.log?.warn(
                { model: remoteChampion, err: (err as Error).message },
                'new champion does not verify; keeping the current one',
              );
            refusedLogged.add(`champion:${remoteChampion}`);
          }
        }
      } else {
        // Moved here (promotion, rollback, first model): publish.
        sql(
          `INSERT INTO model_pointer (one, champion, changed_at) VALUES (true, $1, $2)
           ON CONFLICT (one) DO UPDATE SET champion = excluded.champion, changed_at = excluded.changed_at`,
          [localChampion, new Date().toISOString()],
        );
        syncedChampion = localChampion;
      }
    } else syncedChampion = localChampion;
    return { pushed, pulled, champion, refused };
  };

  let timer: NodeJS.Timeout | null = null;
  let failing = false;
  const tick = () => {
    try {
      syncOnce();
      if (failing) o.log?.info({}, 'registry sync working again');
      failing = false;
    } catch (err) {
      if (!failing) o.log?.warn({ err: (err as Error).message }, 'registry sync failed; retrying every second');
      failing = true;
    }
  };
  tick();
  timer = setInterval(tick, o.intervalMs ?? 1000);
  timer.unref();
  return {
    syncOnce,
    stop: () => {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
