/**
 * Argo Rollouts' client side of the `web` metric provider, ported from argoproj/argo-rollouts at
 * 9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d (Go; not runnable here), for conformance tests:
 *  - utils/analysis/factory.go: BuildArgumentsForRolloutAnalysisRun (a Rollout step's args → run args),
 *    ResolveMetricArgs (the metric marshalled to JSON, args substituted as quoted text, unmarshalled);
 *  - utils/analysis/helpers.go: MergeArgs / ResolveArgs (an arg without value or valueFrom fails the run);
 *  - analysis/analysis.go: resolveArgs (secretKeyRef args read from the Secret);
 *  - utils/template/template.go: ResolveArgs / ResolveQuotedArgs / resolve (valyala/fasttemplate with
 *    `{{`…`}}`; an unknown tag is an error "failed to resolve {{tag}}");
 *  - metricproviders/webmetric/webmetric.go: Run / parseResponse / getValue / NewWebMetricHttpClient /
 *    NewWebMetricJsonParser (default GET, body only with POST/PUT, Content-Type for jsonBody, default
 *    timeout 10 s, non-2xx is an Error measurement, jsonPath default `{$}`);
 *  - utils/evaluate/evaluate.go: EvaluateResult / EvalCondition, and the subset of the expr language
 *    (github.com/expr-lang/expr v1.17.8, as go.mod pins) that conditions use: literals, `result` member
 *    and index access, comparison, logic, arithmetic, `in`, and the env functions asInt, asFloat, isNaN,
 *    isInf, isNil, default. Anything else is a compile error here, so an unported construct fails loudly.
 */

export interface Argument {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    podTemplateHashValue?: 'Latest' | 'Stable';
    fieldRef?: { fieldPath: string };
  };
}

export class ArgoError extends Error {}

// ---- utils/template/template.go ----

/** Go strconv.Quote without its surrounding quotes, for the ASCII a value here can hold. */
export function goQuoteInner(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** fasttemplate.NewTemplate + ExecuteFuncString with template.go's resolve(). */
export function resolveTemplate(template: string, argsMap: Map<string, string>): string {
  let out = '';
  let rest = template;
  let unresolved: string | undefined;
  for (;;) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      out += rest;
      break;
    }
    out += rest.slice(0, open);
    rest = rest.slice(open + 2);
    const close = rest.indexOf('}}');
    if (close < 0)
      throw new ArgoError(
        `Cannot find end tag="}}" in the template=${JSON.stringify(template)} starting from ${JSON.stringify(rest)}`,
      );
    const tag = rest.slice(0, close);
    rest = rest.slice(close + 2);
    const v = argsMap.get(tag.trim());
    if (v !== undefined) out += v;
    else unresolved = `failed to resolve {{${tag}}}`;
  }
  if (unresolved) throw new ArgoError(unresolved);
  return out;
}

export function resolveArgs(template: string, args: Argument[]): string {
  const m = new Map<string, string>();
  for (const a of args) {
    if (a.value === undefined) throw new ArgoError(`argument "${a.name}" was not supplied`);
    m.set(`args.${a.name}`, a.value);
  }
  return resolveTemplate(template, m);
}

export function resolveQuotedArgs(template: string, args: Argument[]): string {
  return resolveArgs(
    template,
    args.map((a) => ({ name: a.name, ...(a.value !== undefined ? { value: goQuoteInner(a.value) } : {}) })),
  );
}

// ---- utils/analysis ----

/** factory.go BuildArgumentsForRolloutAnalysisRun: a Rollout step's args; `Latest` is the new ReplicaSet's pod hash. */
export function buildRolloutArgs(stepArgs: Argument[], hashes: { latest: string; stable: string }): Argument[] {
  return stepArgs.map((a) => {
    let value = a.value ?? '';
    const p = a.valueFrom?.podTemplateHashValue;
    if (p === 'Latest') value = hashes.latest;
    else if (p === 'Stable') value = hashes.stable;
    else if (a.valueFrom?.fieldRef) throw new ArgoError('fieldRef args are not ported');
    return { name: a.name, value };
  });
}

/** helpers.go MergeArgs + ResolveArgs. */
export function mergeArgs(incoming: Argument[], templateArgs: Argument[]): Argument[] {
  const out = templateArgs.map((a) => ({ ...a }));
  for (const a of incoming) {
    const i = out.findIndex((t) => t.name === a.name);
    if (i >= 0) {
      if (a.value !== undefined) out[i].value = a.value;
      else if (a.valueFrom !== undefined) out[i].valueFrom = a.valueFrom;
    }
  }
  for (const a of out)
    if (a.value === undefined && a.valueFrom === undefined) throw new ArgoError(`args.${a.name} was not resolved`);
  return out;
}

/** analysis.go resolveArgs: secretKeyRef → the Secret's value (secrets: name → key → value). */
export function resolveSecretArgs(args: Argument[], secrets: Record<string, Record<string, string>>): Argument[] {
  return args.map((a) => {
    const ref = a.valueFrom?.secretKeyRef;
    if (!ref) return a;
    const secret = secrets[ref.name];
    if (!secret) throw new ArgoError(`secrets "${ref.name}" not found`);
    if (!Object.hasOwn(secret, ref.key)) throw new ArgoError(`key '${ref.key}' does not exist in secret '${ref.name}'`);
    return { ...a, value: secret[ref.key] };
  });
}

/** factory.go ResolveMetricArgs. */
export function resolveMetricArgs<T>(metric: T, args: Argument[]): T {
  return JSON.parse(resolveQuotedArgs(JSON.stringify(metric), args)) as T;
}

// ---- k8s.io/client-go/util/jsonpath, the subset web metrics use ----

export function jsonPathFind(path: string, data: unknown): unknown {
  const m = /^\{\s*\$?((?:\.[A-Za-z0-9_-]+)*)\s*\}$/.exec(path);
  if (!m) throw new ArgoError(`jsonPath ${path} is outside the ported subset ({$} or {$.a.b})`);
  let v: unknown = data;
  for (const k of m[1].split('.').filter(Boolean)) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k))
      throw new ArgoError(`Could not find JSONPath in body: ${k} is not found`);
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

// ---- expr (github.com/expr-lang/expr), the subset conditions use ----

type Tok = { t: 'num' | 'str' | 'id' | 'op'; v: string };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(?:\d+\.\d+|\d+|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
    if (
      num &&
      !(
        c === '.' &&
        out.length &&
        (out[out.length - 1].t === 'id' || out[out.length - 1].v === ')' || out[out.length - 1].v === ']')
      )
    ) {
      out.push({ t: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      for (; j < src.length && src[j] !== c; j++) {
        if (src[j] === '\\') {
          const e = src[++j];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
        } else s += src[j];
      }
      if (src[j] !== c) throw new ArgoError('literal not terminated');
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const id = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = /^(==|!=|<=|>=|&&|\|\||\?\.|\*\*|[<>!+\-*/%()[\].,])/.exec(src.slice(i));
    if (!op) throw new ArgoError(`unexpected token ${JSON.stringify(c)}`);
    out.push({ t: 'op', v: op[0] });
    i += op[0].length;
  }
  return out;
}

type Node =
  | { k: 'lit'; v: unknown }
  | { k: 'id'; name: string }
  | { k: 'member'; obj: Node; prop: Node; optional: boolean }
  | { k: 'call'; fn: string; args: Node[] }
  | { k: 'unary'; op: string; x: Node }
  | { k: 'binary'; op: string; a: Node; b: Node };

// expr's parser/operator table: precedence of binary operators (higher binds tighter).
const BINARY: Record<string, number> = {
  or: 10,
  '||': 10,
  and: 15,
  '&&': 15,
  '==': 20,
  '!=': 20,
  '<': 20,
  '>': 20,
  '<=': 20,
  '>=': 20,
  in: 20,
  contains: 25,
  startsWith: 25,
  endsWith: 25,
  '+': 30,
  '-': 30,
  '*': 60,
  '/': 60,
  '%': 60,
  '**': 100,
};
const ENV_FUNCS = new Set(['asInt', 'asFloat', 'isNaN', 'isInf', 'isNil', 'default']);

function parse(src: string): Node {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p];
  const eat = (v: string) => {
    if (peek()?.v !== v) throw new ArgoError(`expected ${v}, got ${peek()?.v ?? 'end'}`);
    p++;
  };
  const expression = (minPrec: number): Node => {
    let left = unary();
    for (;;) {
      const t = peek();
      if (!t || (t.t !== 'op' && t.t !== 'id')) break;
      const prec = BINARY[t.v];
      if (prec === undefined || prec < minPrec) break;
      p++;
      const right = expression(t.v === '**' ? prec : prec + 1);
      left = { k: 'binary', op: t.v, a: left, b: right };
    }
    return left;
  };
  const unary = (): Node => {
    const t = peek();
    if (t && (t.v === '!' || t.v === 'not')) {
      p++;
      return { k: 'unary', op: '!', x: expression(50) };
    }
    if (t && (t.v === '-' || t.v === '+')) {
      p++;
      return { k: 'unary', op: t.v, x: expression(90) };
    }
    return postfix(primary());
  };
  const primary = (): Node => {
    const t = toks[p++];
    if (!t) throw new ArgoError('unexpected end of expression');
    if (t.t === 'num') return { k: 'lit', v: Number(t.v) };
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.v === '(') {
      const e = expression(0);
      eat(')');
      return e;
    }
    if (t.t === 'id') {
      if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
      if (t.v === 'nil') return { k: 'lit', v: null };
      if (peek()?.v === '(') {
        if (!ENV_FUNCS.has(t.v)) throw new ArgoError(`unknown func ${t.v}`);
        p++;
        const args: Node[] = [];
        while (peek()?.v !== ')') {
          args.push(expression(0));
          if (peek()?.v === ',') p++;
        }
        eat(')');
        return { k: 'call', fn: t.v, args };
      }
      if (t.v !== 'result') throw new ArgoError(`unknown name ${t.v}`);
      return { k: 'id', name: t.v };
    }
    throw new ArgoError(`unexpected token ${t.v}`);
  };
  const postfix = (n: Node): Node => {
    for (;;) {
      const t = peek();
      if (t?.v === '.' || t?.v === '?.') {
        p++;
        const name = toks[p++];
        if (!name || name.t !== 'id') throw new ArgoError('expected a member name');
        n = { k: 'member', obj: n, prop: { k: 'lit', v: name.v }, optional: t.v === '?.' };
      } else if (t?.v === '[') {
        p++;
        const idx = expression(0);
        eat(']');
        n = { k: 'member', obj: n, prop: idx, optional: false };
      } else return n;
    }
  };
  const n = expression(0);
  if (p < toks.length) throw new ArgoError(`unexpected token ${toks[p].v}`);
  return n;
}

const typeName = (v: unknown): string =>
  v === null || v === undefined
    ? '<nil>'
    : Array.isArray(v)
      ? '[]interface {}'
      : typeof v === 'object'
        ? 'map[string]interface {}'
        : typeof v === 'number'
          ? 'float64'
          : typeof v === 'string'
            ? 'string'
            : 'bool';

/** runtime.Equal: numbers by value, same kinds by value (deep for maps and slices), different kinds never equal. */
function equal(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b)) return false;
  if (typeof a === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

function evalNode(n: Node, env: { result: unknown }): unknown {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'id':
      return env.result;
    case 'member': {
      const obj = evalNode(n.obj, env);
      const prop = evalNode(n.prop, env);
      if (obj === null || obj === undefined) {
        if (n.optional) return null;
        throw new ArgoError(`cannot fetch ${String(prop)} from <nil>`);
      }
      if (Array.isArray(obj)) {
        if (typeof prop !== 'number') throw new ArgoError(`cannot fetch ${String(prop)} from []interface {}`);
        const i = prop < 0 ? obj.length + prop : prop;
        if (i < 0 || i >= obj.length)
          throw new ArgoError(`index out of range: ${prop} (array length is ${obj.length})`);
        return obj[i];
      }
      if (typeof obj === 'object')
        return Object.hasOwn(obj, String(prop)) ? (obj as Record<string, unknown>)[String(prop)] : null;
      throw new ArgoError(`cannot fetch ${String(prop)} from ${typeName(obj)}`);
    }
    case 'call': {
      const args = n.args.map((a) => evalNode(a, env));
      switch (n.fn) {
        case 'asFloat':
        case 'asInt': {
          const x = args[0];
          // strconv.ParseInt / ParseFloat on strings: asInt("1.1") panics, asInt(1.123) truncates.
          const pattern = n.fn === 'asInt' ? /^[-+]?\d+$/ : /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
          const v = typeof x === 'number' ? x : typeof x === 'string' && pattern.test(x) ? Number(x) : NaN;
          if (Number.isNaN(v)) throw new ArgoError(`${n.fn}() not supported on ${typeName(x)} ${String(x)}`);
          return n.fn === 'asInt' ? Math.trunc(v) : v;
        }
        case 'isNaN':
          return Number.isNaN(args[0]);
        case 'isInf':
          return args[0] === Infinity || args[0] === -Infinity;
        case 'isNil':
          return env.result === null || env.result === undefined;
        case 'default':
          return env.result === null || env.result === undefined ? args[1] : env.result;
      }
      throw new ArgoError(`unknown func ${n.fn}`);
    }
    case 'unary': {
      const x = evalNode(n.x, env);
      if (n.op === '!') {
        if (typeof x !== 'boolean') throw new ArgoError(`invalid operation: ! (mismatched type ${typeName(x)})`);
        return !x;
      }
      if (typeof x !== 'number') throw new ArgoError(`invalid operation: ${n.op} (mismatched type ${typeName(x)})`);
      return n.op === '-' ? -x : x;
    }
    case 'binary': {
      const op = n.op === 'and' ? '&&' : n.op === 'or' ? '||' : n.op;
      if (op === '&&' || op === '||') {
        const a = evalNode(n.a, env);
        if (typeof a !== 'boolean') throw new ArgoError(`invalid operation: ${op} (mismatched type ${typeName(a)})`);
        if (op === '&&' ? !a : a) return a;
        const b = evalNode(n.b, env);
        if (typeof b !== 'boolean') throw new ArgoError(`invalid operation: ${op} (mismatched type ${typeName(b)})`);
        return b;
      }
      const a = evalNode(n.a, env);
      const b = evalNode(n.b, env);
      switch (op) {
        case '==':
          return equal(a, b);
        case '!=':
          return !equal(a, b);
        case 'in':
          if (Array.isArray(b)) return b.some((x) => equal(x, a));
          if (b !== null && typeof b === 'object') return Object.hasOwn(b, String(a));
          throw new ArgoError(`invalid operation: in (mismatched types ${typeName(a)} and ${typeName(b)})`);
        case 'contains':
        case 'startsWith':
        case 'endsWith':
          if (typeof a !== 'string' || typeof b !== 'string')
            throw new ArgoError(`invalid operation: ${op} (mismatched types ${typeName(a)} and ${typeName(b)})`);
          return op === 'contains' ? a.includes(b) : op === 'startsWith' ? a.startsWith(b) : a.endsWith(b);
      }
      const bothNum = typeof a === 'number' && typeof b === 'number';
      const bothStr = typeof a === 'string' && typeof b === 'string';
      if (['<', '>', '<=', '>='].includes(op)) {
        if (!bothNum && !bothStr)
          throw new ArgoError(`invalid operation: ${op} (mismatched types ${typeName(a)} and ${typeName(b)})`);
        const x = a as number | string;
        const y = b as number | string;
        return op === '<' ? x < y : op === '>' ? x > y : op === '<=' ? x <= y : x >= y;
      }
      if (op === '+' && bothStr) return (a as string) + (b as string);
      if (!bothNum)
        throw new ArgoError(`invalid operation: ${op} (mismatched types ${typeName(a)} and ${typeName(b)})`);
      const x = a as number;
      const y = b as number;
      return op === '+'
        ? x + y
        : op === '-'
          ? x - y
          : op === '*'
            ? x * y
            : op === '/'
              ? x / y
              : op === '%'
                ? x % y
                : x ** y;
    }
  }
}

/**
 * expr's checker, the part conditions meet: `result` is `interface{}` (any), so only operands whose type
 * is known — literals and the env functions' results — can clash at compile time, e.g.
 * `asFloat(result) == "1.1"` is "invalid operation: == (mismatched types float64 and string)".
 */
function staticType(n: Node): string | undefined {
  if (n.k === 'lit')
    return n.v === null
      ? undefined
      : typeof n.v === 'number'
        ? Number.isInteger(n.v)
          ? 'int'
          : 'float64'
        : typeof n.v === 'string'
          ? 'string'
          : 'bool';
  if (n.k === 'call')
    return n.fn === 'asInt' ? 'int64' : n.fn === 'asFloat' ? 'float64' : n.fn === 'default' ? undefined : 'bool';
  if (n.k === 'binary')
    return [
      '==',
      '!=',
      '<',
      '>',
      '<=',
      '>=',
      'in',
      '&&',
      '||',
      'and',
      'or',
      'contains',
      'startsWith',
      'endsWith',
    ].includes(n.op)
      ? 'bool'
      : undefined;
  if (n.k === 'unary') return n.op === '!' ? 'bool' : undefined;
  return undefined;
}
const NUMERIC_TYPES = new Set(['int', 'int64', 'float64']);
function check(n: Node): void {
  if (n.k === 'binary') {
    check(n.a);
    check(n.b);
    const a = staticType(n.a);
    const b = staticType(n.b);
    if (
      ['==', '!=', '<', '>', '<=', '>='].includes(n.op) &&
      a &&
      b &&
      a !== b &&
      !(NUMERIC_TYPES.has(a) && NUMERIC_TYPES.has(b))
    )
      throw new ArgoError(`invalid operation: ${n.op} (mismatched types ${a} and ${b})`);
  } else if (n.k === 'unary') check(n.x);
  else if (n.k === 'member') {
    check(n.obj);
    check(n.prop);
  } else if (n.k === 'call') n.args.forEach(check);
}

/** evaluate.go EvalCondition. */
export function evalCondition(result: unknown, condition: string): boolean {
  const ast = parse(condition);
  check(ast);
  const t = staticType(ast);
  if (t && t !== 'bool') throw new ArgoError(`expected bool, but got ${t}`);
  const out = evalNode(ast, { result });
  if (typeof out !== 'boolean') throw new ArgoError(`expected bool, but got ${typeName(out)}`);
  return out;
}

export type AnalysisPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

/** evaluate.go EvaluateResult. */
export function evaluateResult(
  result: unknown,
  metric: { successCondition?: string; failureCondition?: string },
): { phase: AnalysisPhase; error?: string } {
  let success = false;
  let fail = false;
  try {
    if (metric.successCondition) success = evalCondition(result, metric.successCondition);
  } catch (err) {
    return {
      phase: 'Error',
      error: `could not evaluate successCondition "${metric.successCondition}": ${(err as Error).message}`,
    };
  }
  try {
    if (metric.failureCondition) fail = evalCondition(result, metric.failureCondition);
  } catch (err) {
    return {
      phase: 'Error',
      error: `could not evaluate failureCondition "${metric.failureCondition}": ${(err as Error).message}`,
    };
  }
  if (!metric.successCondition && !metric.failureCondition) return { phase: 'Successful' };
  if (metric.successCondition && !metric.failureCondition) fail = !success;
  else if (!metric.successCondition && metric.failureCondition) success = !fail;
  if (fail) return { phase: 'Failed' };
  if (!fail && !success) return { phase: 'Inconclusive' };
  return { phase: 'Successful' };
}

// ---- metricproviders/webmetric/webmetric.go ----

export interface WebMetric {
  name: string;
  successCondition?: string;
  failureCondition?: string;
  provider: {
    web: {
      method?: string;
      url: string;
      headers?: { key: string; value: string }[];
      body?: string;
      jsonBody?: unknown;
      timeoutSeconds?: number;
      jsonPath?: string;
    };
  };
}

export interface Measurement {
  phase: AnalysisPhase;
  value?: string;
  message?: string;
  /** What was sent, for the test's own assertions. */
  request: { method: string; url: string; headers: Record<string, string>; body?: string };
}

/** Provider.Run: one measurement. */
export async function runWebMetric(metric: WebMetric): Promise<Measurement> {
  const web = metric.provider.web;
  const method = web.method || 'GET';
  const headers: Record<string, string> = {};
  const req = { method, url: web.url, headers, body: undefined as string | undefined };
  const error = (message: string): Measurement => ({ phase: 'Error', message, request: req });
  if (web.body && web.jsonBody != null)
    return error('use either Body or JSONBody; both cannot exists for WebMetric payload');
  if ((web.body || web.jsonBody != null) && method === 'GET')
    return error('Body/JSONBody can only be used with POST or PUT WebMetric Method types');
  if (web.body) req.body = web.body;
  else if (web.jsonBody != null) req.body = JSON.stringify(web.jsonBody);
  for (const h of web.headers ?? []) headers[h.key] = h.value;
  if (web.jsonBody != null) headers['Content-Type'] = 'application/json';
  const timeoutMs = (web.timeoutSeconds && web.timeoutSeconds > 0 ? web.timeoutSeconds : 10) * 1000;
  let res: Response;
  try {
    res = await fetch(web.url, { method, headers, body: req.body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    return error((err as Error).message);
  }
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) return error(`received non 2xx response code: ${res.status}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    const r = evaluateResult(text, metric);
    return { phase: r.phase, value: text, message: r.error, request: req };
  }
  let val: unknown;
  try {
    val = jsonPathFind(web.jsonPath || '{$}', data);
  } catch (err) {
    return error((err as Error).message);
  }
  const r = evaluateResult(val, metric);
  return { phase: r.phase, value: JSON.stringify(val), message: r.error, request: req };
}
