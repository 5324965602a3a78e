// Live updates: the server's event stream (GET /events) while the tab is visible, polling while it is
// hidden or when the stream fails. Browsers allow 6 connections per origin: a hidden tab gives its
// stream up, so that other tabs of the dashboard still open theirs.
export interface JobEventData {
  id: string;
  queue?: string;
  status?: string;
  site: string;
  method?: string;
  durationMs?: number;
}

type Listener = { job?(event: JobEventData): void; changed?(queues: string[]): void };

const listeners = new Set<Listener>();
let source: EventSource | undefined;
let pollTimer: number | undefined;
/** How the page is kept fresh now: 'push' (the stream is open), 'poll', or 'connecting'. */
export let mode: 'push' | 'poll' | 'connecting' = 'connecting';
const modeListeners = new Set<(m: typeof mode) => void>();

const POLL_MS = 5000;

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function onMode(listener: (m: typeof mode) => void): () => void {
  modeListeners.add(listener);
  return () => modeListeners.delete(listener);
}

function setMode(next: typeof mode): void {
  mode = next;
  for (const listener of modeListeners) listener(next);
}

function startPolling(): void {
  if (pollTimer !== undefined) return;
  setMode('poll');
  pollTimer = window.setInterval(() => {
    for (const listener of listeners) listener.changed?.([]);
  }, POLL_MS);
}

function stopPolling(): void {
  if (pollTimer !== undefined) window.clearInterval(pollTimer);
  pollTimer = undefined;
}

function open(): void {
  if (source) return;
  setMode('connecting');
  const stream = new EventSource('/events');
  source = stream;
  stream.onopen = () => {
    stopPolling();
    setMode('push');
    // Anything may have changed while the stream was closed.
    for (const listener of listeners) listener.changed?.([]);
  };
  stream.addEventListener('job', (e) => {
    const data = JSON.parse((e as MessageEvent<string>).data) as JobEventData;
    for (const listener of listeners) listener.job?.(data);
  });
  stream.addEventListener('changed', (e) => {
    const { queues } = JSON.parse((e as MessageEvent<string>).data) as { queues: string[] };
    for (const listener of listeners) listener.changed?.(queues);
  });
  // EventSource reconnects by itself; meanwhile the page polls.
  stream.onerror = () => startPolling();
}

function close(): void {
  source?.close();
  source = undefined;
}

/** Start live updates (once). */
export function startLive(): void {
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      close();
      startPolling();
    } else {
      open();
    }
  });
  window.addEventListener('pagehide', close);
  if (document.hidden) startPolling();
  else open();
}
