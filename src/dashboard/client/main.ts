/** Client entry: session check, API key prompt, history-API routing and the page frame. */
import './style.css';
import { ApiError, AuthNeeded, clearKey, getKey, session, setKey } from './api.ts';
import { h } from './dom.ts';
import { canaryPage, jobsPage, modelPage, overviewPage, reportsPage, riskPage, type Page } from './pages.ts';

const NAV: { href: string; label: string; match: (p: string) => boolean }[] = [
  {
    href: '/ui',
    label: 'Overview',
    match: (p) => p === '/' || p === '/ui' || p === '/ui/' || p.startsWith('/ui/risk/'),
  },
  { href: '/ui/model', label: 'Model', match: (p) => p.startsWith('/ui/model') },
  { href: '/ui/canary', label: 'Canary', match: (p) => p.startsWith('/ui/canary') },
  { href: '/ui/jobs', label: 'Jobs', match: (p) => p.startsWith('/ui/jobs') },
  { href: '/ui/reports', label: 'Reports', match: (p) => p.startsWith('/ui/reports') },
];

let authRequired = true;
let renderSeq = 0;

function route(path: string, params: URLSearchParams): Promise<Page> {
  const risk = /^\/ui\/risk\/([^/]+)$/.exec(path);
  if (risk) return riskPage(decodeURIComponent(risk[1]));
  if (path.startsWith('/ui/model')) return modelPage();
  if (path.startsWith('/ui/canary')) return canaryPage(params);
  if (path.startsWith('/ui/jobs')) return jobsPage();
  if (path.startsWith('/ui/reports')) return reportsPage(params);
  if (path === '/' || path === '/ui' || path === '/ui/') return overviewPage();
  return Promise.resolve({
    title: 'Not found',
    content: [
      h('p', { class: 'error', role: 'alert' }, `There is no dashboard page at ${path}.`),
      h('p', null, h('a', { href: '/ui' }, 'Go to the overview')),
    ],
  });
}

function header(path: string): HTMLElement {
  return h(
    'header',
    { class: 'topbar' },
    h('a', { class: 'brand', href: '/ui' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '◆'), 'Riskgate'),
    h(
      'nav',
      { 'aria-label': 'Dashboard pages' },
      h(
        'ul',
        null,
        NAV.map((n) => h('li', null, h('a', { href: n.href, 'aria-current': n.match(path) ? 'page' : null }, n.label))),
      ),
    ),
    authRequired && getKey()
      ? h(
          'button',
          {
            class: 'link-button',
            type: 'button',
            onclick: () => {
              clearKey();
              void render();
            },
          },
          'Forget key',
        )
      : null,
  );
}

function keyForm(message: string | null): HTMLElement {
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'aria-describedby': 'api-key-help',
  });
  return h(
    'section',
    { class: 'card key-card', 'aria-labelledby': 'key-title' },
    h('h1', { id: 'key-title' }, 'API key'),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    h(
      'form',
      {
        onsubmit: (e: Event) => {
          e.preventDefault();
          const v = input.value.trim();
          if (!v) return;
          setKey(v);
          void render();
        },
      },
      h('label', { for: 'api-key' }, 'Key with the "score" scope'),
      input,
      h(
        'p',
        { id: 'api-key-help', class: 'muted' },
        'Kept in this tab only (sessionStorage) and sent as a bearer token to this server.',
      ),
      h('button', { type: 'submit' }, 'Continue'),
    ),
  );
}

async function render(): Promise<void> {
  const seq = ++renderSeq;
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  const app = document.getElementById('app')!;
  const main = h('main', { id: 'main', tabindex: '-1', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading…'));
  app.replaceChildren(header(path), main);
  if (authRequired && !getKey()) {
    main.replaceChildren(keyForm(null));
    main.removeAttribute('aria-busy');
    document.title = 'API key · Riskgate';
    return;
  }
  try {
    const page = await route(path, params);
    if (seq !== renderSeq) return; // a newer navigation won
    main.replaceChildren(h('h1', { class: 'page-title' }, page.title), ...page.content);
    document.title = `${page.title} · Riskgate`;
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e instanceof AuthNeeded) {
      app.replaceChildren(header(path), main);
      main.replaceChildren(keyForm(e.message));
    } else {
      const msg = e instanceof ApiError ? e.message : `Something went wrong: ${(e as Error).message}`;
      main.replaceChildren(h('h1', { class: 'page-title' }, 'Error'), h('p', { class: 'error', role: 'alert' }, msg));
    }
  } finally {
    if (seq === renderSeq) main.removeAttribute('aria-busy');
  }
}

function navigate(url: URL): void {
  history.pushState(null, '', url.pathname + url.search);
  void render().then(() => document.getElementById('main')?.focus({ preventScroll: true }));
  window.scrollTo(0, 0);
}

document.addEventListener('click', (e) => {
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target)
    return;
  const url = new URL(a.href, location.href);
  if (
    url.origin !== location.origin ||
    !(url.pathname === '/' || url.pathname === '/ui' || url.pathname.startsWith('/ui/')) ||
    url.pathname.startsWith('/ui/api/')
  )
    return;
  e.preventDefault();
  navigate(url);
});

// GET forms (service / repo pickers) navigate in place instead of reloading the page.
document.addEventListener('submit', (e) => {
  const form = e.target as HTMLFormElement;
  if (e.defaultPrevented || !form.classList.contains('toolbar')) return;
  e.preventDefault();
  const url = new URL(form.action, location.href);
  for (const [k, v] of new FormData(form)) url.searchParams.set(k, String(v));
  navigate(url);
});

window.addEventListener('popstate', () => void render());

async function start(): Promise<void> {
  try {
    authRequired = (await session()).auth_required;
  } catch {
    authRequired = true; // be safe: ask for a key rather than fail open
  }
  await render();
}

void start();
