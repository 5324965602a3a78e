// The dashboard's JSON API as a table: method, path pattern (":name" segments become params), the
// handler, and whether a POST needs an admin (every POST does unless it says admin: false). One table,
// so that the API tests can walk every route, and the server has no routing logic of its own.
import type { Handler } from './types.js';

export interface Route {
  /** Stable name, logged with each action ("retry", "pause"...). */
  name: string;
  method: 'GET' | 'POST';
  /** e.g. "/api/queues/:queue/jobs". */
  path: string;
  handler: Handler;
  /** POST only: false lets a viewer call it (none does yet). */
  admin?: boolean;
}

interface Compiled {
  route: Route;
  pattern: RegExp;
  names: string[];
}

const compiled = new WeakMap<readonly Route[], Compiled[]>();

function compile(routes: readonly Route[]): Compiled[] {
  let table = compiled.get(routes);
  if (!table) {
    table = routes.map((route) => {
      const names: string[] = [];
      const source = route.path
        .split('/')
        .map((part) => {
          if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(part.slice(1));
          return '([^/]+)';
        })
        .join('/');
      return { route, pattern: new RegExp(`^${source}$`), names };
    });
    compiled.set(routes, table);
  }
  return table;
}

/** The route for `method` `path` and its decoded params, or undefined. A malformed %-escape matches nothing. */
export function matchRoute(routes: readonly Route[], method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
  for (const { route, pattern, names } of compile(routes)) {
    if (route.method !== method) continue;
    const match = pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    try {
      names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1] as string)));
    } catch {
      return undefined;
    }
    return { route, params };
  }
  return undefined;
}
