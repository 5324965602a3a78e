// The configuration keys bench-worker understands, their Frappe names, types, ranges and defaults.
// One table drives validation, the defaults and the README/example docs: add a key here only.
import { MAX_DELAY_SECONDS, WHOLE_TIMEOUT_RANGE, WORKER_PROCESSES_RANGE, wholeRange, type NumberRange } from '../util/limits.js';

export type KeyKind =
  | 'string'
  | 'benchId'
  | 'redisUrl'
  | 'int'
  | 'boolean'
  | 'workers'
  | 'appList'
  | 'dbType'
  | 'postgresUrl'
  | 'identifier'
  | 'flag'
  | 'timeZone'
  | 'jobCap'
  | 'hostPortList'
  | 'redisUrlList'
  | 'dashboardUsers'
  | 'nameList'
  | 'metricLabels';

export interface KeySpec {
  kind: KeyKind;
  /** What the key does, as shown by common_site_config.example.json and the README. */
  doc: string;
  /** For kind 'int': the values accepted. */
  range?: NumberRange;
  /** Only meaningful in sites/<site>/site_config.json. */
  siteOnly?: boolean;
  /** A credential: a wrong value is described by its type only, never shown. */
  secret?: boolean;
}

/** A TTL: 1 s to 365 days. */
const TTL = wholeRange(1, MAX_DELAY_SECONDS, 'seconds', '365 days');
/** A queue's job timeout: 1 s to 30 days. */
export const QUEUE_TIMEOUT_RANGE = WHOLE_TIMEOUT_RANGE;
/** Worker processes of a group or a queue. */
export const BACKGROUND_WORKERS_RANGE = WORKER_PROCESSES_RANGE;

export const KEY_SPECS = {
  redis_queue: { kind: 'redisUrl', doc: 'Redis URL holding the job queues (redis:// or rediss://).' },
  redis_queue_cluster: {
    kind: 'redisUrlList',
    doc: 'A Redis Cluster holding the job queues instead of one server: its seed nodes, ["redis://host:port", ...] (the others are found from them); [] or absent: one server. Replaces redis_queue; credentials and TLS come from the first URL (db must be 0).',
  },
  redis_queue_sentinel_enabled: {
    kind: 'flag',
    doc: 'true (or 1): find the queue Redis through Redis Sentinel (redis_queue_sentinels, redis_queue_master_service) instead of redis_queue\'s host and port; its db number and TLS options still apply.',
  },
  redis_queue_sentinels: { kind: 'hostPortList', doc: 'The Sentinels to ask for the queue Redis\'s master: ["host:port", ...] (Frappe\'s key).' },
  redis_queue_master_service: { kind: 'string', doc: 'The master name the Sentinels monitor (their `sentinel monitor <name> ...`).' },
  redis_queue_sentinel_username: { kind: 'string', doc: 'ACL user on the Sentinels themselves, when they require one.' },
  redis_queue_sentinel_password: { kind: 'string', secret: true, doc: 'Password on the Sentinels themselves, when they require one.' },
  redis_queue_master_username: { kind: 'string', doc: 'ACL user on the master found through Sentinel (default: the user redis_queue or use_rq_auth gives).' },
  redis_queue_master_password: { kind: 'string', secret: true, doc: 'Password on the master found through Sentinel (default: the one redis_queue or use_rq_auth gives).' },
  workers: {
    kind: 'workers',
    doc: 'Custom queues: {"name": {"timeout": seconds, "background_workers": n}}. Listed after short, default, long.',
  },
  rq_job_failure_ttl: { kind: 'int', range: TTL, doc: 'Seconds a failed job (error and stack) is kept.' },
  rq_results_ttl: { kind: 'int', range: TTL, doc: 'Seconds a finished job and its result are kept.' },
  rq_failed_jobs_limit: { kind: 'int', range: wholeRange(1, 1_000_000), doc: 'Failed jobs kept per queue; the oldest are dropped first.' },
  max_queued_jobs: { kind: 'int', range: wholeRange(1, 100_000_000), doc: 'Queue length at which enqueue refuses (plus 50 per site).' },
  max_queued_jobs_per_site: {
    kind: 'int',
    range: wholeRange(1, 100_000_000),
    doc: 'Jobs one site may have queued on a queue: past it, enqueue refuses that site (ERR_QUEUE_OVERLOADED naming it), not the others. Unset: no limit.',
  },
  queue_weight: {
    kind: 'int',
    range: wholeRange(1, 1000),
    doc: 'Share of a site when several sites have jobs queued on one queue: workers serve the sites in turns, this many jobs per turn (default 1).',
  },
  max_concurrent_jobs: {
    kind: 'jobCap',
    doc: 'Most jobs of a site running at once (prefetched ones included), across every worker, enforced in Redis: a number for each queue, or {"queue": n} per queue. Unset: no cap.',
  },
  max_job_payload_bytes: { kind: 'int', range: wholeRange(1, 512 * 1024 * 1024, 'bytes', "512 MiB, Redis's largest string"), doc: 'Largest accepted job payload (kwargs JSON), in bytes.' },
  job_timeout_grace: {
    kind: 'int',
    range: wholeRange(0, 3600, 'seconds', '1 hour'),
    doc: 'Seconds between a job timeout (AbortSignal fired) and killing its worker process.',
  },
  worker_lease_ttl: {
    kind: 'int',
    range: wholeRange(1, 3600, 'seconds', '1 hour'),
    doc: 'Seconds a worker process\'s liveness stamp lasts without renewal; the jobs of a dead worker return to the queue after it.',
  },
  job_crash_limit: {
    kind: 'int',
    range: wholeRange(1, 1000),
    doc: 'Times a job may take down its worker (crash, kill) and be requeued before it fails as abandoned.',
  },
  worker_max_jobs: {
    kind: 'int',
    range: wholeRange(0, 1_000_000_000),
    doc: 'Jobs a worker process runs before it is replaced (plus a random 0-1%); 0 turns it off.',
  },
  worker_max_memory_mb: {
    kind: 'int',
    range: wholeRange(0, 1024 * 1024, 'MiB', '1 TiB'),
    doc: 'Resident memory (MiB) past which a worker process is replaced between jobs; 0 turns it off.',
  },
  bench_id: {
    kind: 'benchId',
    doc: 'Namespace of this bench in Redis. Default: a random id ("b" and 10 base32 characters) that the first command connecting to Redis saves here; a bench whose jobs already live under its path-derived id ("/" turned into "-", the old default) keeps that one.',
  },
  realtime_channel: {
    kind: 'string',
    doc: 'Redis channel of realtime messages (publishRealtime, progress), the one Frappe\'s Socket.IO server listens on. Job lifecycle events go to the bench\'s own channel bw:{<bench_id>}:events.',
  },
  rq_username: { kind: 'string', doc: 'Redis ACL user (used when use_rq_auth is true).' },
  rq_password: { kind: 'string', secret: true, doc: 'Redis ACL password (used when use_rq_auth is true).' },
  use_rq_auth: { kind: 'flag', doc: 'true (or 1, as Frappe writes it): authenticate to redis_queue with rq_username / rq_password.' },
  background_workers: { kind: 'int', range: BACKGROUND_WORKERS_RANGE, doc: 'Worker processes per queue group that process managers start.' },
  background_process_niceness: {
    kind: 'int',
    range: wholeRange(0, 19, 'nice steps'),
    doc: 'Nice increment of the worker processes that run jobs (os.nice, as Frappe\'s set_niceness); unset: no change. Their supervisor keeps its priority.',
  },
  db_type: {
    kind: 'dbType',
    doc: 'Site database: "sqlite" (a file per site, sites/<site>/site.db) or "postgres" (then db_url is required).',
  },
  db_url: {
    kind: 'postgresUrl',
    doc: 'PostgreSQL connection URL of the site database (postgres:// or postgresql://), used when db_type is "postgres".',
  },
  db_schema: {
    kind: 'identifier',
    doc: 'PostgreSQL schema the site\'s tables live in (its search_path). Default: the server\'s (public).',
  },
  sqlite_busy_timeout_ms: {
    kind: 'int',
    range: wholeRange(0, 3_600_000, 'milliseconds', '1 hour'),
    doc: 'SQLite: milliseconds a statement waits for another connection\'s lock before SQLITE_BUSY (the job is then retried).',
  },
  scheduler_tick_interval: {
    kind: 'int',
    range: wholeRange(1, 86_400, 'seconds', '1 day'),
    doc: 'Seconds between two scheduler ticks, aligned to the clock (Frappe\'s default 240: the "all" event runs every 4 minutes).',
  },
  scheduler_lease_ttl: {
    kind: 'int',
    range: wholeRange(1, 600, 'seconds', '10 minutes'),
    doc: 'Seconds the scheduler lease in Redis lasts without renewal: a waiting `bench schedule` takes over within about this long (plus 1 s) after the one ticking dies.',
  },
  scheduler_log_days: {
    kind: 'int',
    range: wholeRange(0, 36_500, 'days', '100 years'),
    doc: 'Days a scheduled_job_log row is kept in the site\'s database (Frappe\'s Log Settings keep them 90); 0 keeps them forever. Pruned by the ticking scheduler, at most once an hour per site.',
  },
  time_zone: {
    kind: 'timeZone',
    doc: 'IANA time zone ("Europe/Berlin") in which a site\'s scheduler_events (hourly, daily, cron...) are evaluated. Default: the machine\'s.',
  },
  pause_scheduler: { kind: 'flag', doc: 'true (or 1): the scheduler skips this site (bench scheduler pause / resume).' },
  disable_scheduler: { kind: 'flag', doc: 'true (or 1): the scheduler skips this site (bench scheduler disable / enable, disable-scheduler / enable-scheduler).' },
  maintenance_mode: { kind: 'flag', doc: 'true (or 1): the site is in maintenance (set-maintenance-mode on|off); the scheduler skips it, its queued jobs still run.' },
  default_site: {
    kind: 'string',
    doc: 'Site of the site-scoped commands run without --site (after the FRAPPE_SITE / BENCH_SITE environment variable and sites/currentsite.txt). Set by hand, as Frappe\'s `bench use` does.',
  },
  dashboard_port: { kind: 'int', range: wholeRange(1, 65_535, 'port'), doc: 'Port of `bench dashboard` (and of the dashboard entry of bench start and the process-manager units).' },
  dashboard_in_units: { kind: 'flag', doc: 'true (or 1): `bench setup supervisor|systemd` include a dashboard program.' },
  dashboard_users: {
    kind: 'dashboardUsers',
    secret: true,
    doc: 'Dashboard users, written by `bench dashboard set-password` / `token`: {"name": {"password": scrypt hash, "role": "admin"|"viewer", "sites": ["*"] or site names, "tokens": [token hashes]}}. Only hashes are stored.',
  },
  dashboard_history_days: {
    kind: 'int',
    range: wholeRange(1, 365, 'days'),
    doc: 'Days the per-minute job counters behind the dashboard\'s charts are kept in Redis.',
  },
  dashboard_index_keys: {
    kind: 'nameList',
    doc: 'kwargs keys whose values are indexed at enqueue, so that the dashboard finds a job by `key=value` at once (e.g. ["customer"]). Unset: none (a find by a kwargs key is then refused, ERR_NOT_INDEXED, rather than read from every job).',
  },
  metrics_public: { kind: 'flag', doc: 'true (or 1): /metrics answers without a token (only on a dashboard that is not reachable from outside).' },
  metrics_labels: {
    kind: 'metricLabels',
    doc: 'Extra labels /metrics may use, beyond queue and state: any of "site", "method" (each multiplies the series by the number of sites or methods). Unset: none.',
  },
  installed_apps: {
    kind: 'appList',
    siteOnly: true,
    doc: 'Apps installed on a site (site_config.json only). Default: every app in apps/.',
  },
} as const satisfies Record<string, KeySpec>;

export type KnownKey = keyof typeof KEY_SPECS;

export interface CustomQueueConfig {
  timeout?: number;
  background_workers?: number;
}

/** Values of the known keys after defaults are applied. Unknown keys pass through untouched. */
export interface BenchSettings {
  redis_queue: string;
  redis_queue_cluster?: readonly string[];
  redis_queue_sentinel_enabled?: boolean | 0 | 1;
  redis_queue_sentinels?: readonly string[];
  redis_queue_master_service?: string;
  redis_queue_sentinel_username?: string;
  redis_queue_sentinel_password?: string;
  redis_queue_master_username?: string;
  redis_queue_master_password?: string;
  workers: Readonly<Record<string, Readonly<CustomQueueConfig>>>;
  rq_job_failure_ttl: number;
  rq_results_ttl: number;
  rq_failed_jobs_limit: number;
  max_queued_jobs: number;
  max_queued_jobs_per_site?: number;
  queue_weight: number;
  max_concurrent_jobs?: number | Readonly<Record<string, number>>;
  max_job_payload_bytes: number;
  job_timeout_grace: number;
  worker_lease_ttl: number;
  job_crash_limit: number;
  worker_max_jobs: number;
  worker_max_memory_mb: number;
  bench_id: string;
  realtime_channel: string;
  rq_username?: string;
  rq_password?: string;
  use_rq_auth: boolean | 0 | 1;
  background_workers: number;
  background_process_niceness?: number;
  db_type: 'sqlite' | 'postgres';
  db_url?: string;
  db_schema?: string;
  sqlite_busy_timeout_ms: number;
  scheduler_tick_interval: number;
  scheduler_lease_ttl: number;
  scheduler_log_days: number;
  time_zone?: string;
  pause_scheduler?: boolean | 0 | 1;
  disable_scheduler?: boolean | 0 | 1;
  maintenance_mode?: boolean | 0 | 1;
  default_site?: string;
  dashboard_port: number;
  dashboard_in_units?: boolean | 0 | 1;
  dashboard_users?: Readonly<Record<string, DashboardUserConfig>>;
  dashboard_history_days: number;
  dashboard_index_keys?: readonly string[];
  metrics_public?: boolean | 0 | 1;
  metrics_labels?: readonly MetricLabel[];
}

/** A dashboard user as stored in dashboard_users: hashes only. */
export interface DashboardUserConfig {
  /** scrypt hash of the password ("scrypt$N$r$p$salt$hash", base64url parts). */
  password?: string;
  role: 'admin' | 'viewer';
  /** ["*"]: every site; else the sites this user sees and acts on. */
  sites: readonly string[];
  /** Hashes (sha256, hex) of the user's API tokens. */
  tokens?: readonly string[];
}

/** Names of dashboard users (keys of dashboard_users). */
export const DASHBOARD_USER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** Labels /metrics may add when metrics_labels allows them. */
export const METRIC_LABELS = ['site', 'method'] as const;
export type MetricLabel = (typeof METRIC_LABELS)[number];

export const DEFAULTS = {
  redis_queue: 'redis://127.0.0.1:11000',
  workers: {},
  rq_job_failure_ttl: 7 * 24 * 60 * 60,
  rq_results_ttl: 600,
  rq_failed_jobs_limit: 1000,
  max_queued_jobs: 500,
  queue_weight: 1,
  max_job_payload_bytes: 4 * 1024 * 1024,
  job_timeout_grace: 3,
  worker_lease_ttl: 30,
  job_crash_limit: 3,
  worker_max_jobs: 1_000_000,
  worker_max_memory_mb: 1024,
  realtime_channel: 'events',
  use_rq_auth: false,
  background_workers: 1,
  db_type: 'sqlite',
  sqlite_busy_timeout_ms: 5000,
  scheduler_tick_interval: 240,
  scheduler_lease_ttl: 5,
  scheduler_log_days: 90,
  dashboard_port: 9181,
  dashboard_history_days: 7,
} as const satisfies Omit<BenchSettings, 'bench_id'>;

/** Built-in queues in priority order with their default timeouts (seconds), as Frappe has them. */
export const BUILTIN_QUEUES = { short: 300, default: 300, long: 1500 } as const;

/** Timeout of a custom queue that does not set one. */
export const CUSTOM_QUEUE_DEFAULT_TIMEOUT = 300;
