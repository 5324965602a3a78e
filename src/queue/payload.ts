// Strict JSON for job payloads: JSON.stringify silently drops functions and undefined and turns
// Dates into strings, so kwargs are checked value by value first and refused with the exact path of
// the first thing that would not survive the trip to a worker.
import { BenchError } from '../errors.js';
import { kindOf } from '../util/text.js';

/** Serialise kwargs, or throw ERR_ENQUEUE_INVALID naming the offending path. */
export function kwargsToJson(kwargs: unknown, where: string): string {
  if (kwargs === undefined) return '{}';
  if (!isPlainObject(kwargs)) {
    throw invalid(`${where}: kwargs must be a JSON object, found ${kindOf(kwargs)}`);
  }
  const problem = findUnserialisable(kwargs, 'kwargs', new Set());
  if (problem !== null) throw invalid(`${where}: ${problem}; kwargs must be JSON-serialisable`);
  return JSON.stringify(kwargs);
}

/** Refuse a payload over the configured size, naming both sizes. */
export function checkPayloadSize(json: string, limit: number, where: string): void {
  const size = Buffer.byteLength(json, 'utf8');
  if (size > limit) {
    throw new BenchError(
      'ERR_PAYLOAD_TOO_LARGE',
      `${where}: payload is ${size} bytes, over the limit of ${limit} bytes (max_job_payload_bytes)`,
      { details: { size, limit } },
    );
  }
}

function findUnserialisable(value: unknown, at: string, seen: Set<object>): string | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : `${at} is ${String(value)}, which JSON cannot hold`;
    case 'object': {
      if (value === null) return null;
      if (seen.has(value)) return `${at} refers back to itself (circular)`;
      seen.add(value);
      try {
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const problem = findUnserialisable(value[i], `${at}[${i}]`, seen);
            if (problem !== null) return problem;
          }
          return null;
        }
        if (!isPlainObject(value)) return `${at} is ${kindOf(value)}, not plain JSON data`;
        for (const [key, inner] of Object.entries(value)) {
          const problem = findUnserialisable(inner, `${at}.${key}`, seen);
          if (problem !== null) return problem;
        }
        return null;
      } finally {
        seen.delete(value);
      }
    }
    default:
      return `${at} is ${kindOf(value)}, which JSON cannot hold`;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function invalid(message: string): BenchError {
  return new BenchError('ERR_ENQUEUE_INVALID', message);
}
