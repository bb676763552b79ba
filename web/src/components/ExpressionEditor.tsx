import {
  autocompletion,
  closeBrackets,
  closeBracketsKeymap,
  completionKeymap,
  startCompletion,
  type CompletionContext,
  type CompletionResult as CMCompletionResult,
} from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { Compartment, EditorState, RangeSetBuilder } from '@codemirror/state';
import { Decoration, EditorView, keymap, placeholder as placeholderExt, ViewPlugin, type DecorationSet, type ViewUpdate } from '@codemirror/view';
import { useEffect, useRef, useLayoutEffect } from 'react';

import { completeAt, tokenize, type ExpressionScope, type TokenKind } from '@lib/expressionLang';

/** ExpressionEditorProps are those of ExpressionInput that the CodeMirror editor takes. */
export interface ExpressionEditorProps {
  ariaDescribedBy?: string;
  ariaLabel?: string;
  disabled?: boolean;
  id?: string;
  invalid?: boolean;
  /** isExpression marks the content when the value holds {{ }} (data-expression). */
  isExpression?: boolean;
  onBlur?: () => void;
  onChange: (value: string) => void;
  placeholder?: string;
  /** scope returns what completion proposes, read when completing so that it may change meanwhile. */
  scope: () => ExpressionScope;
  value: string;
}

const marks: Record<TokenKind, Decoration> = Object.fromEntries(
  (['bool', 'brace', 'function', 'keyword', 'nil', 'number', 'operator', 'property', 'punctuation', 'string', 'variable'] as const).map((k) => [
    k,
    Decoration.mark({ class: `cmx-${k}` }),
  ]),
) as Record<TokenKind, Decoration>;
const region = Decoration.mark({ class: 'cmx-region' });

/** decorate marks the {{ }} regions and their tokens. */
function decorate(view: EditorView): DecorationSet {
  const b = new RangeSetBuilder<Decoration>();
  const text = view.state.doc.toString();
  for (const t of tokenize(text)) {
    if (t.to > t.from) b.add(t.from, t.to, marks[t.kind]);
  }
  return b.finish();
}

const highlighter = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = decorate(view);
    }
    update(u: ViewUpdate) {
      if (u.docChanged) this.decorations = decorate(u.view);
    }
  },
  { decorations: (v) => v.decorations },
);

// The background of whole regions, under the token colours.
const regions = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = this.build(view);
    }
    update(u: ViewUpdate) {
      if (u.docChanged) this.decorations = this.build(u.view);
    }
    build(view: EditorView): DecorationSet {
      const b = new RangeSetBuilder<Decoration>();
      const text = view.state.doc.toString();
      let i = 0;
      for (;;) {
        const start = text.indexOf('{{', i);
        if (start < 0) break;
        const toks = tokenize(text.slice(start)).filter((t) => t.kind === 'brace');
        const end = toks.length > 1 ? start + toks[1]!.to : text.length;
        b.add(start, end, region);
        i = Math.max(end, start + 2);
      }
      return b.finish();
    }
  },
  { decorations: (v) => v.decorations },
);

/** ExpressionEditor is a CodeMirror 6 editor for a configuration string with {{ expressions }}: highlighting, completion inside the braces, history. Loaded lazily by ExpressionInput. */
export default function ExpressionEditor({
  ariaDescribedBy,
  ariaLabel,
  disabled,
  id,
  invalid,
  isExpression,
  onBlur,
  onChange,
  placeholder,
  scope,
  value,
}: ExpressionEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const handlers = useRef({ onBlur, onChange, scope });
  // The editor's listeners read the latest props through the ref, updated after each render.
  useLayoutEffect(() => {
    handlers.current = { onBlur, onChange, scope };
  });
  const editable = useRef(new Compartment());
  const attrs = useRef(new Compartment());

  useEffect(() => {
    const source = (ctx: CompletionContext): CMCompletionResult | null => {
      const res = completeAt(ctx.state.doc.toString(), ctx.pos, handlers.current.scope());
      if (!res || (res.from === ctx.pos && !ctx.explicit && !/[.{\s(]$/.test(ctx.state.sliceDoc(Math.max(0, ctx.pos - 1), ctx.pos)))) return null;
      return {
        from: res.from,
        options: res.items.map((i) => ({ detail: i.detail, info: i.info, label: i.label, type: i.type })),
        validFor: /^[\w$]*$/,
      };
    };
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          // The page's Content-Security-Policy admits CodeMirror's <style> only with its nonce (ADR 0026).
          EditorView.cspNonce.of(cspNonce()),
          history(),
          closeBrackets(),
          keymap.of([...closeBracketsKeymap, ...completionKeymap, ...defaultKeymap, ...historyKeymap]),
          autocompletion({ activateOnTyping: true, icons: false, override: [source] }),
          highlighter,
          regions,
          EditorView.lineWrapping,
          placeholder ? placeholderExt(placeholder) : [],
          editable.current.of(EditorView.editable.of(!disabled)),
          attrs.current.of([]),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) {
              const text = u.state.doc.toString();
              handlers.current.onChange(text);
              // Typing "." or "{{ " inside an expression opens the list at once.
              const last = text.slice(Math.max(0, u.state.selection.main.head - 1), u.state.selection.main.head);
              if (last === '.') startCompletion(u.view);
            }
          }),
          EditorView.domEventHandlers({ blur: () => handlers.current.onBlur?.() }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is made once; value, disabled and attributes follow in the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, insert: value, to: v.state.doc.length } });
  }, [value]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    // A <label for=id> does not name a contenteditable: name it by the label's id.
    const label = id ? document.querySelector<HTMLLabelElement>(`label[for="${CSS.escape(id)}"]`) : null;
    if (label && !label.id) label.id = `${id}-label`;
    const a: Record<string, string> = { 'aria-multiline': 'true', 'data-expression': isExpression ? 'true' : 'false', role: 'textbox', spellcheck: 'false' };
    if (id) a.id = id;
    if (ariaLabel) a['aria-label'] = ariaLabel;
    else if (label) a['aria-labelledby'] = label.id;
    if (ariaDescribedBy) a['aria-describedby'] = ariaDescribedBy;
    if (invalid) a['aria-invalid'] = 'true';
    if (disabled) a['aria-disabled'] = 'true';
    v.dispatch({ effects: [attrs.current.reconfigure(EditorView.contentAttributes.of(a)), editable.current.reconfigure(EditorView.editable.of(!disabled))] });
  }, [ariaDescribedBy, ariaLabel, disabled, id, invalid, isExpression]);

  return <div className="cmx-host" data-invalid={invalid ? 'true' : undefined} ref={host} />;
}

/** cspNonce is the nonce the server put in the page (<meta name="csp-nonce">) for its style policy. */
function cspNonce(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? '';
}
