// The dashboard users of a bench (dashboard_users in common_site_config.json) and the principals they
// become. A user's sites are ["*"] (every site) or a list of exact site names; a "*" among other names
// grants nothing more (least privilege for a hand edit the CLI would have refused).
import type { BenchConfig } from '../../config/load.js';
import { DASHBOARD_USER_NAME, type DashboardUserConfig } from '../../config/schema.js';
import type { Principal } from '../types.js';

export type DashboardUsers = Readonly<Record<string, DashboardUserConfig>>;

/** User names the config accepts (config/validate.ts checks them with the same pattern). */
export const USER_NAME = DASHBOARD_USER_NAME;

/** The name of the principal of a dashboard without users (reachable on loopback only). */
export const OPEN_USER = 'anonymous';

export function dashboardUsers(bench: BenchConfig): DashboardUsers {
  return bench.settings.dashboard_users ?? {};
}

/** User `name`'s entry; never an inherited property ("constructor", "__proto__" are not users). */
export function findUser(users: DashboardUsers, name: string): DashboardUserConfig | undefined {
  return Object.hasOwn(users, name) ? users[name] : undefined;
}

/** Sites as the config stores them -> a principal's scope: undefined means every site. */
export function siteScope(sites: readonly string[]): ReadonlySet<string> | undefined {
  return sites.length === 1 && sites[0] === '*' ? undefined : new Set(sites.filter((site) => site !== '*'));
}

export function principalOf(name: string, user: DashboardUserConfig, via: 'session' | 'token'): Principal {
  return { user: name, role: user.role, sites: siteScope(user.sites), via };
}

export const OPEN_PRINCIPAL: Principal = Object.freeze({ user: OPEN_USER, role: 'admin', sites: undefined, via: 'open' });

/** A principal's sites as JSON shows them: ["*"] for every site. */
export function sitesShown(principal: Principal): string[] {
  return principal.sites === undefined ? ['*'] : [...principal.sites].sort();
}
