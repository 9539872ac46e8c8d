// Page side: the only way the report creates elements. Text goes in as text nodes and
// attributes through setAttribute/dataset, never through innerHTML, so data from a
// hostile trace is never parsed as markup. Inlined by its source text (client-bundle.ts).

export function domModule() {
  type Child = Node | string | undefined | false;
  interface Props {
    readonly class?: string;
    readonly id?: string;
    readonly text?: string;
    readonly title?: string;
    readonly data?: Readonly<Record<string, string>>;
    readonly attrs?: Readonly<Record<string, string>>;
  }

  function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, children: readonly Child[] = []): HTMLElementTagNameMap[K] {
    const e = document.createElement(tag);
    if (props.class !== undefined) e.className = props.class;
    if (props.id !== undefined) e.id = props.id;
    if (props.title !== undefined) e.title = props.title;
    if (props.text !== undefined) e.textContent = props.text;
    if (props.data !== undefined) for (const [k, v] of Object.entries(props.data)) e.dataset[k] = v;
    if (props.attrs !== undefined) {
      for (const [k, v] of Object.entries(props.attrs)) {
        // Event handlers and inline styles are never set from here (and CSP forbids both).
        if (/^on/i.test(k) || k.toLowerCase() === 'style') throw new Error(`refusing attribute ${k}`);
        e.setAttribute(k, v);
      }
    }
    for (const c of children) {
      if (c === undefined || c === false) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }

  function clear(node: Node): void {
    while (node.firstChild !== null) node.removeChild(node.firstChild);
  }

  function byId<T extends HTMLElement>(id: string, ctor: { new (): T }): T {
    const e = document.getElementById(id);
    if (!(e instanceof ctor)) throw new Error(`missing #${id}`);
    return e;
  }

  /** A definition list from label/value pairs. */
  function fields(pairs: readonly (readonly [string, string])[], cls = 'fields'): HTMLDListElement {
    const dl = el('dl', { class: cls });
    for (const [k, v] of pairs) {
      dl.appendChild(el('dt', { text: k }));
      dl.appendChild(el('dd', { text: v }));
    }
    return dl;
  }

  /** A button that shows/hides `body`; collapsed bodies still print (see styles.ts). */
  function disclosure(button: HTMLButtonElement, body: HTMLElement, expanded: boolean, onToggle?: (open: boolean) => void): void {
    if (body.id === '') body.id = `d${Math.random().toString(36).slice(2, 10)}`;
    button.setAttribute('aria-controls', body.id);
    const set = (open: boolean): void => {
      button.setAttribute('aria-expanded', String(open));
      body.classList.toggle('collapsed', !open);
    };
    set(expanded);
    button.addEventListener('click', () => {
      const open = button.getAttribute('aria-expanded') !== 'true';
      set(open);
      onToggle?.(open);
    });
  }

  return { el, clear, byId, fields, disclosure };
}

export type DomModule = ReturnType<typeof domModule>;
