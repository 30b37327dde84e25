/**
 * A small YAML reader for the snippets in the docs (no YAML package is installed): block mappings and
 * sequences, flow `{…}` / `[…]` on one line, plain, single- and double-quoted scalars, comments and `---`.
 * Anything else (anchors, tags, block scalars, multi-line plain or flow values) throws, so a snippet this
 * cannot read is a failing test rather than a silently different value. Plain scalars are typed as
 * Kubernetes reads them (sigs.k8s.io/yaml, YAML 1.1): YAML 1.1's yes/no/on/off/y/n are refused, because
 * Kubernetes would read them as booleans where a reader might expect strings.
 */
interface Line {
  indent: number;
  text: string;
  no: number;
}

class YamlError extends Error {}

function stripComment(s: string): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = null;
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s{[,:-]/.test(s[i - 1]))) q = c;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) return s.slice(0, i);
  }
  return s;
}

export function plainScalar(raw: string, where: string): unknown {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(s))
    throw new YamlError(`${where}: "${s}" is a boolean in YAML 1.1 (Kubernetes) but a string in YAML 1.2; quote it`);
  if (/^[-+]?(0|[1-9][0-9_]*)$/.test(s)) return Number(s.replace(/_/g, ''));
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  if (/^[&*!|>%@`]/.test(s)) throw new YamlError(`${where}: unsupported YAML construct "${s.slice(0, 20)}"`);
  return s;
}

function doubleQuoted(s: string, i: number, where: string): [string, number] {
  let j = i + 1;
  let out = '';
  for (; j < s.length && s[j] !== '"'; j++) {
    if (s[j] === '\\') {
      const e = s[++j];
      const map: Record<string, string> = {
        n: '\n',
        t: '\t',
        r: '\r',
        '"': '"',
        '\\': '\\',
        '/': '/',
        '0': '\0',
        ' ': ' ',
      };
      if (e === 'u') {
        out += String.fromCharCode(parseInt(s.slice(j + 1, j + 5), 16));
        j += 4;
      } else if (e in map) out += map[e];
      else throw new YamlError(`${where}: unsupported escape \\${e}`);
    } else out += s[j];
  }
  if (s[j] !== '"') throw new YamlError(`${where}: unterminated double-quoted string`);
  return [out, j + 1];
}

function singleQuoted(s: string, i: number, where: string): [string, number] {
  let j = i + 1;
  let out = '';
  for (; j < s.length; j++) {
    if (s[j] === "'") {
      if (s[j + 1] === "'") {
        out += "'";
        j++;
      } else return [out, j + 1];
    } else out += s[j];
  }
  throw new YamlError(`${where}: unterminated single-quoted string`);
}

/** A flow value starting at s[i]; returns the value and the index after it. */
function flow(s: string, i: number, where: string): [unknown, number] {
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  ws();
  const c = s[i];
  if (c === '{' || c === '[') {
    const close = c === '{' ? '}' : ']';
    const obj: Record<string, unknown> = {};
    const arr: unknown[] = [];
    i++;
    for (;;) {
      ws();
      if (s[i] === close) return [c === '{' ? obj : arr, i + 1];
      if (c === '{') {
        let key: unknown;
        [key, i] = flowScalar(s, i, where, true);
        ws();
        if (s[i] !== ':') throw new YamlError(`${where}: expected ":" in a flow mapping`);
        i++;
        let v: unknown;
        [v, i] = flow(s, i, where);
        obj[String(key)] = v;
      } else {
        let v: unknown;
        [v, i] = flow(s, i, where);
        arr.push(v);
      }
      ws();
      if (s[i] === ',') i++;
      else if (s[i] !== close) throw new YamlError(`${where}: expected "," or "${close}" in a flow collection`);
    }
  }
  return flowScalar(s, i, where, false);
}

function flowScalar(s: string, i: number, where: string, key: boolean): [unknown, number] {
  while (i < s.length && /\s/.test(s[i])) i++;
  if (s[i] === '"') return doubleQuoted(s, i, where);
  if (s[i] === "'") return singleQuoted(s, i, where);
  let j = i;
  while (j < s.length && !',]}'.includes(s[j]) && !(key && s[j] === ':')) j++;
  return [plainScalar(s.slice(i, j), where), j];
}

function inline(raw: string, where: string): unknown {
  const s = raw.trim();
  let v: unknown;
  let end: number;
  if (s[0] === '{' || s[0] === '[') [v, end] = flow(s, 0, where);
  else if (s[0] === '"') [v, end] = doubleQuoted(s, 0, where);
  else if (s[0] === "'") [v, end] = singleQuoted(s, 0, where);
  else return plainScalar(s, where);
  if (s.slice(end).trim() !== '')
    throw new YamlError(`${where}: unexpected text after a value: "${s.slice(end).trim()}"`);
  return v;
}

/** Splits `key: rest` at the first ": " (or final ":") outside quotes; null when the line is no mapping entry. */
function splitKey(text: string, where: string): [string, string] | null {
  if (text[0] === '"' || text[0] === "'") {
    const [k, j] = text[0] === '"' ? doubleQuoted(text, 0, where) : singleQuoted(text, 0, where);
    const rest = text.slice(j);
    if (!/^\s*:(\s|$)/.test(rest)) return null;
    return [k, rest.replace(/^\s*:/, '')];
  }
  if (text[0] === '{' || text[0] === '[') return null;
  const m = /^([^\s:#][^:]*?)\s*:(?:\s+|$)(.*)$/.exec(text);
  return m ? [m[1], m[2]] : null;
}

class Reader {
  i = 0;
  constructor(readonly lines: Line[]) {}
  where(l: Line | undefined) {
    return `line ${l?.no ?? 'end'}`;
  }
  block(indent: number): unknown {
    const l = this.lines[this.i];
    if (!l || l.indent < indent) return null;
    return /^-(\s|$)/.test(l.text) ? this.seq(l.indent) : this.map(l.indent);
  }
  seq(indent: number): unknown[] {
    const out: unknown[] = [];
    for (let l = this.lines[this.i]; l && l.indent === indent && /^-(\s|$)/.test(l.text); l = this.lines[this.i]) {
      const rest = l.text.slice(1).replace(/^\s+/, '');
      const inner = l.indent + (l.text.length - rest.length);
      if (rest === '') {
        this.i++;
        out.push(this.block(indent + 1));
      } else if (splitKey(rest, this.where(l)) && rest[0] !== '{') {
        // "- key: value" opens a mapping whose entries are indented to where "key" starts.
        this.lines[this.i] = { indent: inner, text: rest, no: l.no };
        out.push(this.map(inner));
      } else {
        this.i++;
        out.push(inline(rest, this.where(l)));
      }
    }
    return out;
  }
  map(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let l = this.lines[this.i]; l && l.indent === indent && !/^-(\s|$)/.test(l.text); l = this.lines[this.i]) {
      const kv = splitKey(l.text, this.where(l));
      if (!kv) throw new YamlError(`${this.where(l)}: expected "key: value", got "${l.text}"`);
      const [k, rest] = kv;
      if (Object.hasOwn(out, k)) throw new YamlError(`${this.where(l)}: duplicate key "${k}"`);
      this.i++;
      if (rest.trim() === '') {
        const next = this.lines[this.i];
        if (next && next.indent > indent) out[k] = this.block(next.indent);
        else if (next && next.indent === indent && /^-(\s|$)/.test(next.text)) out[k] = this.seq(indent);
        else out[k] = null;
      } else {
        if (/^[|>]/.test(rest.trim())) throw new YamlError(`${this.where(l)}: block scalars are not supported`);
        out[k] = inline(rest, this.where(l));
      }
    }
    const l = this.lines[this.i];
    if (l && l.indent > indent) throw new YamlError(`${this.where(l)}: unexpected indentation`);
    return out;
  }
}

/** Every document of a YAML stream. */
export function parseYamlDocuments(text: string): unknown[] {
  const docs: Line[][] = [[]];
  text.split('\n').forEach((raw, n) => {
    if (/^---\s*$/.test(raw)) return docs.push([]);
    if (raw.includes('\t')) throw new YamlError(`line ${n + 1}: tab character`);
    const s = stripComment(raw).replace(/\s+$/, '');
    if (s.trim() === '') return;
    docs[docs.length - 1].push({ indent: s.length - s.trimStart().length, text: s.trimStart(), no: n + 1 });
  });
  return docs
    .filter((d) => d.length)
    .map((lines) => {
      const r = new Reader(lines);
      const v = r.block(0);
      if (r.i < lines.length) throw new YamlError(`line ${lines[r.i].no}: unexpected content`);
      return v;
    });
}

/** The fenced ```yaml blocks of a Markdown file, in order. */
export function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((m) => m[1]);
}
