import { Refusal } from '../errors.ts';
import { userInfo } from 'node:os';
import { EXIT, parseCommandArgs } from './args.ts';
import { defaultPaths, openDefaultStore } from './shared.ts';
import { commandSettings } from '../config/commands.ts';

export const summary = 'List, inspect, promote or roll back model versions (audited)';
export const help = `Usage: riskgate models list [--json]
       riskgate models show ID
       riskgate models promote ID --reason TEXT
       riskgate models rollback --reason TEXT
       riskgate models trial ID --reason TEXT [--ab-share 0..1]
       riskgate models end-trial --reason TEXT
  (all take --db FILE and --models-dir DIR; --json prints the answer as JSON)

Every change is written to the audit log as actor "cli:$USER" with the reason. "rollback" re-instates the
previous champion. "trial" puts a challenger on shadow scoring (optionally serving a share of repositories
from it); the daily evaluate job promotes it once enough live outcomes show it wins. "end-trial" stops
the trial and retires the challenger.

Exit codes: 0 done, 1 the change was refused (e.g. already champion, nothing to roll back to),
2 bad usage, 3 no model with that ID.

Examples:
  riskgate models list
  riskgate models promote gbdt-20250301030012-a1b2c3 --reason "better on March data"
  riskgate models rollback --reason "false alarms since Monday"`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      reason: { type: 'string' },
      'ab-share': { type: 'string' },
      db: { type: 'string' },
      'models-dir': { type: 'string' },
    },
  });
  const [sub, id] = positionals;
  const ops = await import('../registry/operations.ts');
  const needsId = ['show', 'promote', 'trial'];
  const needsReason = ['promote', 'rollback', 'trial', 'end-trial'];
  if (!sub || ![...needsId, ...needsReason, 'list'].includes(sub)) {
    console.error(`riskgate models: choose list, show, promote, rollback, trial or end-trial\n\n${help}`);
    return 2;
  }
  if (needsId.includes(sub)) {
    const ok = ops.ModelIdSchema.safeParse(id);
    if (!ok.success) {
      console.error(
        `riskgate models ${sub}: ${id === undefined ? 'a model ID is required' : `"${id}" ${ok.error.issues[0].message}`}`,
      );
      return 2;
    }
  }
  const reason = values.reason?.trim();
  if (needsReason.includes(sub) && !reason) {
    console.error(`riskgate models ${sub}: --reason is required (it goes into the audit log)`);
    return 2;
  }
  const abShare = values['ab-share'] === undefined ? 0 : Number(values['ab-share']);
  if (!Number.isFinite(abShare) || abShare < 0 || abShare > 1) {
    console.error(`riskgate models trial: --ab-share "${values['ab-share']}" is not a share in [0, 1]`);
    return 2;
  }
  const actor = `cli:${
    commandSettings().user ??
    (() => {
      try {
        return userInfo().username;
      } catch {
        return 'unknown';
      }
    })()
  }`;
  const modelsDir = values['models-dir'] ?? defaultPaths().modelsDir;
  const store = openDefaultStore(values.db);
  try {
    let out: unknown;
    if (sub === 'list') {
      const l = ops.listModels(store, modelsDir);
      if (!values.json) {
        if (l.models.length === 0) console.log('no models registered (run `riskgate train`)');
        for (const m of l.models) {
          const flag = m.champion ? '*' : m.on_trial ? 'T' : ' ';
          const pr = typeof m.metrics.pr_auc === 'number' ? m.metrics.pr_auc.toFixed(3) : '-';
          console.log(
            `${flag} ${m.id.padEnd(32)} ${m.status.padEnd(10)} PR-AUC ${pr}  data ${m.data_range.from?.slice(0, 10) ?? '?'}..${m.data_range.to?.slice(0, 10) ?? '?'} (${m.data_range.rows} runs)`,
          );
        }
        return 0;
      }
      out = l;
    }
    // A change prints one sentence (and what to do next); --json the API's answer.
    let line: string | null = null;
    if (sub === 'show') out = ops.showModel(store, modelsDir, id!);
    else if (sub === 'promote') {
      const r = ops.promoteModel(store, modelsDir, id!, actor, reason!);
      out = r;
      line = `${r.champion} is now the champion${r.previous ? ` (was ${r.previous}; \`riskgate models rollback\` re-instates it)` : ''}.`;
    } else if (sub === 'rollback') {
      const r = ops.rollbackModel(store, modelsDir, actor, reason!);
      out = r;
      line = `rolled back: ${r.champion} is the champion again${r.previous ? ` (${r.previous} retired)` : ''}.`;
    } else if (sub === 'trial') {
      const r = ops.startTrial(store, modelsDir, id!, actor, reason!, abShare);
      out = r;
      line = `${r.trial} is on shadow trial${r.ab_share > 0 ? `, serving ${(r.ab_share * 100).toFixed(0)} % of repositories` : ''}; \`riskgate models end-trial\` stops it.`;
    } else if (sub === 'end-trial') {
      const r = ops.endTrial(store, modelsDir, actor, reason!);
      out = r;
      line = `trial of ${r.ended} ended; it is ${r.status ?? 'gone'}.`;
    }
    if (line && !values.json) console.log(`${line} Running servers pick the change up at their next registry poll.`);
    else console.log(JSON.stringify(out, null, 2));
    return EXIT.ok;
  } catch (err) {
    if (err instanceof Refusal) {
      console.error(`riskgate models ${sub}: ${err.message}`);
      return err.kind === 'not_found' ? EXIT.notFound : EXIT.failed;
    }
    throw err;
  } finally {
    store.close();
  }
}
