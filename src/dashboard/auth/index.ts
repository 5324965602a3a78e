// The dashboard's authentication, as the server and the CLI use it: the request side (DashboardAuth,
// see dashboard-auth.ts for the calls), password hashes and API tokens (what `bench dashboard
// set-password` / `token` store), and the users of the config as principals.
export { DashboardAuth, RateLimitedError, type DashboardAuthOptions, type LoginResult, type WhoAmI } from './dashboard-auth.js';
export { DEFAULT_SCRYPT, MAX_PASSWORD_LENGTH, hashPassword, verifyPassword, type ScryptParams } from './password.js';
export { API_TOKEN_PREFIX, newApiToken } from './api-token.js';
export { SESSION_COOKIE } from './cookies.js';
export { USER_NAME, dashboardUsers, findUser, sitesShown, type DashboardUsers } from './users.js';
