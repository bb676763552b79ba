/**
 * Pure helpers for the expression editor: where the {{ }} regions of a configuration string are, the
 * expr-lang tokens inside them (for highlighting), and what to complete at a position. No CodeMirror
 * here, so that they are tested as plain functions and the editor bundle stays lazy.
 */

/** ExprRegion is one {{ … }} part: from its "{{" to after its "}}" (or the end when not closed). */
export interface ExprRegion {
  closed: boolean;
  /** from is the offset of "{{". */
  from: number;
  /** innerFrom and innerTo bound the expression between the braces. */
  innerFrom: number;
  innerTo: number;
  to: number;
}

/** findRegions returns the {{ }} regions of text, in order. A "}}" inside a string literal or inside braces opened within the expression does not close it (as the server splits). */
export function findRegions(text: string): ExprRegion[] {
  const out: ExprRegion[] = [];
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('{{', i);
    if (start < 0) break;
    let j = start + 2;
    let depth = 0;
    let end = -1;
    for (; j < text.length; j++) {
      const c = text[j];
      if (c === '"' || c === "'" || c === '`') {
        let k = j + 1;
        for (; k < text.length; k++) {
          if (text[k] === '\\' && c !== '`') {
            k++;
            continue;
          }
          if (text[k] === c) break;
        }
        j = k;
        continue;
      }
      if (c === '{') depth++;
      else if (c === '}') {
        if (depth === 0) {
          if (text[j + 1] === '}') {
            end = j;
            break;
          }
        } else depth--;
      }
    }
    if (end < 0) {
      out.push({ closed: false, from: start, innerFrom: start + 2, innerTo: text.length, to: text.length });
      break;
    }
    out.push({ closed: true, from: start, innerFrom: start + 2, innerTo: end, to: end + 2 });
    i = end + 2;
  }
  return out;
}

/** TokenKind is the highlighting class of an expression token. */
export type TokenKind = 'bool' | 'brace' | 'function' | 'keyword' | 'nil' | 'number' | 'operator' | 'property' | 'punctuation' | 'string' | 'variable';

/** ExprToken is one highlighted token, with absolute offsets in the text. */
export interface ExprToken {
  from: number;
  kind: TokenKind;
  to: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'matches', 'contains', 'startsWith', 'endsWith', 'let', 'if', 'else']);
/** ROOTS are the names an expression sees. */
export const ROOTS = ['input', 'nodes', 'trigger', 'vars', 'execution', 'workflow', 'item', 'index'] as const;
const ROOT_SET = new Set<string>(ROOTS);

/** tokenize returns the tokens of every {{ }} region of text, braces included. */
export function tokenize(text: string): ExprToken[] {
  const out: ExprToken[] = [];
  for (const r of findRegions(text)) {
    out.push({ from: r.from, kind: 'brace', to: r.from + 2 });
    tokenizeExpr(text, r.innerFrom, r.innerTo, out);
    if (r.closed) out.push({ from: r.innerTo, kind: 'brace', to: r.to });
  }
  return out;
}

function tokenizeExpr(text: string, from: number, to: number, out: ExprToken[]): void {
  let i = from;
  let afterDot = false;
  while (i < to) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'" || c === '`') {
      i++;
      while (i < to && text[i] !== c) i += text[i] === '\\' && c !== '`' ? 2 : 1;
      i = Math.min(to, i + 1);
      out.push({ from: start, kind: 'string', to: i });
      afterDot = false;
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (i < to && /[0-9_.xXa-fA-FeE]/.test(text[i]!) && !(text[i] === '.' && text[i + 1] === '.')) i++;
      out.push({ from: start, kind: 'number', to: i });
      afterDot = false;
      continue;
    }
    if (/[A-Za-z_$#]/.test(c)) {
      i++;
      while (i < to && /[\w$]/.test(text[i]!)) i++;
      const word = text.slice(start, i);
      let j = i;
      while (j < to && text[j] === ' ') j++;
      let kind: TokenKind;
      if (afterDot) kind = 'property';
      else if (text[j] === '(') kind = 'function';
      else if (word === 'true' || word === 'false') kind = 'bool';
      else if (word === 'nil' || word === 'null') kind = 'nil';
      else if (KEYWORDS.has(word)) kind = 'keyword';
      else if (ROOT_SET.has(word) || word.startsWith('#')) kind = 'variable';
      else kind = 'property';
      out.push({ from: start, kind, to: i });
      afterDot = false;
      continue;
    }
    if (c === '.' || c === '?') {
      const two = text.slice(i, i + 2);
      if (two === '?.') {
        i += 2;
        afterDot = true;
        out.push({ from: start, kind: 'punctuation', to: i });
        continue;
      }
      if (c === '.' && text[i + 1] !== '.') {
        i++;
        afterDot = true;
        out.push({ from: start, kind: 'punctuation', to: i });
        continue;
      }
    }
    if ('()[]{},:'.includes(c)) {
      i++;
      out.push({ from: start, kind: 'punctuation', to: i });
      afterDot = false;
      continue;
    }
    i++;
    while (i < to && '+-*/%<>=!&|?^.'.includes(text[i]!)) i++;
    out.push({ from: start, kind: 'operator', to: i });
    afterDot = false;
  }
}

/** FunctionInfo is one function an expression may call, as GET /api/v1/expressions/functions lists it. */
export interface FunctionInfo {
  doc: string;
  name: string;
  own: boolean;
  signature: string;
}

/** ExpressionScope is what completion knows of the data: samples from the last run, or schema shapes. */
export interface ExpressionScope {
  execution?: unknown;
  functions?: readonly FunctionInfo[];
  input?: unknown;
  /** nodes maps node ids to a sample of their output (undefined when nothing is known). */
  nodes?: Readonly<Record<string, unknown>>;
  trigger?: unknown;
  vars?: unknown;
  workflow?: unknown;
}

/** CompletionItem is one proposal. */
export interface CompletionItem {
  detail?: string;
  info?: string;
  label: string;
  type: 'constant' | 'function' | 'keyword' | 'property' | 'variable';
}

/** CompletionResult is what to propose at a position: the items replace text[from, pos). */
export interface CompletionResult {
  from: number;
  items: CompletionItem[];
}

const ROOT_DOCS: Record<(typeof ROOTS)[number], string> = {
  execution: 'This run: id, startedAt, trigger',
  index: 'The position of item inside a fan-out',
  input: "The node's input: what its incoming connection carried",
  item: 'The current element inside a fan-out (forEach)',
  nodes: 'Finished nodes by id: nodes.<id>.output',
  trigger: "The trigger's output",
  vars: "The workflow's constants",
  workflow: 'This workflow: id, name, version',
};

const DEFAULT_SHAPES: Record<string, unknown> = {
  execution: { id: '', startedAt: '', trigger: '' },
  workflow: { id: '', name: '', version: 0 },
};

/** describe names a sample value's type for a completion's detail. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === 'object') return 'object';
  if (typeof v === 'string') return v.length > 24 ? `"${v.slice(0, 21)}…"` : JSON.stringify(v);
  return String(v);
}

/** completeAt proposes completions at pos in text, or null when pos is outside every {{ }} region. */
export function completeAt(text: string, pos: number, scope: ExpressionScope): CompletionResult | null {
  const region = findRegions(text).find((r) => pos >= r.innerFrom && pos <= r.innerTo);
  if (!region) return null;
  const before = text.slice(region.innerFrom, pos);
  // Inside a string literal: nothing to propose.
  if (inString(before)) return null;
  const m = /((?:[A-Za-z_$][\w$]*)(?:\??\.[A-Za-z_$][\w$]*|\[\d+\]|\["[^"]*"\])*)\??\.([A-Za-z_$][\w$]*)?$/.exec(before);
  if (m) {
    const path = parsePath(m[1]!);
    const partial = m[2] ?? '';
    const value = resolve(path, scope);
    const items = keysOf(value, path[0] === 'nodes' && path.length === 1 ? 'node' : 'field');
    return { from: pos - partial.length, items };
  }
  const word = /[A-Za-z_$][\w$]*$/.exec(before);
  const partial = word ? word[0] : '';
  const items: CompletionItem[] = ROOTS.map((r) => ({ detail: describe(rootValue(r, scope)), info: ROOT_DOCS[r], label: r, type: 'variable' }));
  for (const f of scope.functions ?? []) items.push({ detail: f.signature, info: f.doc, label: f.name, type: 'function' });
  return { from: pos - partial.length, items };
}

function inString(s: string): boolean {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === '\\' && q !== '`') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'" || c === '`') q = c;
  }
  return q !== null;
}

/** parsePath splits a.b?.c[0]["d e"] into its keys. */
export function parsePath(s: string): string[] {
  const out: string[] = [];
  const re = /([A-Za-z_$][\w$]*)|\[(\d+)\]|\["([^"]*)"\]/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

function rootValue(root: string, scope: ExpressionScope): unknown {
  switch (root) {
    case 'input':
      return scope.input;
    case 'trigger':
      return scope.trigger;
    case 'vars':
      return scope.vars;
    case 'execution':
      return scope.execution ?? DEFAULT_SHAPES.execution;
    case 'workflow':
      return scope.workflow ?? DEFAULT_SHAPES.workflow;
    case 'nodes': {
      const nodes: Record<string, unknown> = {};
      for (const [id, out] of Object.entries(scope.nodes ?? {})) nodes[id] = { output: out, status: '' };
      return nodes;
    }
    default:
      return undefined;
  }
}

function resolve(path: readonly string[], scope: ExpressionScope): unknown {
  let v = rootValue(path[0] ?? '', scope);
  for (const key of path.slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = Array.isArray(v) ? v[Number(key)] : (v as Record<string, unknown>)[key];
  }
  // An array's fields are its elements' fields (input.items.<tab> proposes [0]'s keys after [0]).
  return v;
}

function keysOf(v: unknown, kind: 'field' | 'node'): CompletionItem[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
  return Object.entries(v as Record<string, unknown>)
    .filter(([k]) => /^[A-Za-z_$][\w$]*$/.test(k))
    .map(([k, x]) => ({ detail: kind === 'node' ? 'node' : describe(x), label: k, type: 'property' as const }));
}
