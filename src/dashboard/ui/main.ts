// The dashboard page: who is logged in (/api/me), the login form when nobody is, the navigation and the
// search box, and the page the URL's hash names (#/, #/queue/<q>?state=…, #/job/<id>, #/workers,
// #/sites, #/scheduler, #/find?q=…, #/enqueue), so that every view can be bookmarked.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post, setCsrfToken, whenUnauthorized, type Me } from './api.js';
import { currentRoute, html, link } from './html.js';
import { JobPage } from './job.js';
import { mode, onMode, startLive } from './live.js';
import { Overview } from './overview.js';
import { EnqueuePage, FindPage, SchedulerPage, SitesPage, WorkersPage } from './pages.js';
import { QueuePage } from './queue.js';

function Login({ onDone }: { onDone: (me: Me) => void }) {
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    try {
      const me = await post<Me>('/api/login', { user: form.get('user'), password: form.get('password') });
      setCsrfToken(me.csrfToken);
      onDone(me);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return html`<form class="login stack" onSubmit=${submit}>
    <h1>bench-worker</h1>
    <label>User <input name="user" autocomplete="username" value="admin" /></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" autofocus /></label>
    <button>Log in</button>
    ${error ? html`<p class="error" data-testid="login-error">${error}</p>` : ''}
  </form>`;
}

function Page({ me }: { me: Me }) {
  const { parts, query } = currentRoute();
  const [section = '', arg = ''] = parts;
  switch (section) {
    case 'queue':
      return html`<${QueuePage} me=${me} queue=${arg} query=${query} />`;
    case 'job':
      return html`<${JobPage} me=${me} id=${arg} />`;
    case 'workers':
      return html`<${WorkersPage} />`;
    case 'sites':
      return html`<${SitesPage} />`;
    case 'scheduler':
      return html`<${SchedulerPage} />`;
    case 'find':
      return html`<${FindPage} query=${query} />`;
    case 'enqueue':
      return html`<${EnqueuePage} me=${me} />`;
    default:
      return html`<${Overview} me=${me} />`;
  }
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [, setHash] = useState(location.hash);
  const [live, setLive] = useState(mode);
  useEffect(() => {
    whenUnauthorized(() => setMe(null));
    get<Me | { user: null }>('/api/me').then(
      (who) => {
        if (who.user === null) return setMe(null);
        setCsrfToken(who.csrfToken);
        setMe(who);
      },
      () => setMe(null),
    );
    const onHash = () => setHash(location.hash);
    window.addEventListener('hashchange', onHash);
    return onMode(setLive);
  }, []);
  useEffect(() => {
    if (me) startLive();
  }, [me === null || me === undefined]);
  if (me === undefined) return html`<p class="muted">Loading…</p>`;
  if (me === null) return html`<${Login} onDone=${setMe} />`;
  const find = (e: Event) => {
    e.preventDefault();
    const q = (new FormData(e.target as HTMLFormElement).get('q') as string).trim();
    if (q) location.hash = link(['find'], { q });
  };
  const logout = async () => {
    await post('/api/logout');
    setMe(null);
  };
  return html`
    <header>
      <a class="brand" href="#/">bench-worker</a>
      <nav><a href="#/">Queues</a><a href="#/workers">Workers</a><a href="#/sites">Sites</a><a href="#/scheduler">Scheduler</a>${me.role === 'admin' ? html`<a href="#/enqueue">Enqueue</a>` : ''}</nav>
      <form class="search" onSubmit=${find}><input name="q" placeholder="job id, method=…, site=…, customer=…" aria-label="find" /></form>
      <span class=${`live ${live}`} title="live updates" data-testid="live">${live === 'push' ? 'live' : live === 'poll' ? 'polling' : '…'}</span>
      <span class="who">${me.user} (${me.role}${me.sites[0] === '*' ? '' : `: ${me.sites.join(', ')}`})</span>
      ${me.login ? html`<button class="link" onClick=${logout}>Log out</button>` : ''}
    </header>
    <main><${Page} me=${me} /></main>
  `;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
