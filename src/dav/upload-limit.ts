import type { MethodHandler } from './context.js';
import { DavError } from './errors.js';

/** Seconds a client refused for too many uploads is asked to wait before trying again. */
export const UPLOAD_RETRY_AFTER_SECONDS = 5;

/** Uploads in progress in this process, by user id. */
const active = new Map<number, number>();

/**
 * Bounds the uploads one user may have in progress at once (MAX_UPLOADS_PER_USER), so that a
 * client dribbling many bodies cannot hold the server's connections, temporary files and database
 * slots for everyone. The excess is 429 with Retry-After (RFC 6585 §4): the limit is on this
 * user's own requests, not a sign that the server is overloaded (503), and sync clients retry
 * both. The count is per process: several processes behind one database each apply it.
 */
export function limitUploads(handler: MethodHandler): MethodHandler {
  return async (req) => {
    const userId = req.user.id;
    const running = active.get(userId) ?? 0;
    if (running >= req.deps.config.maxUploadsPerUser) {
      throw new DavError(429, {
        message: `too many uploads at once (at most ${req.deps.config.maxUploadsPerUser}); retry after ${UPLOAD_RETRY_AFTER_SECONDS} seconds`,
        headers: { 'Retry-After': String(UPLOAD_RETRY_AFTER_SECONDS) },
      });
    }
    active.set(userId, running + 1);
    try {
      await handler(req);
    } finally {
      const left = (active.get(userId) ?? 1) - 1;
      if (left === 0) active.delete(userId);
      else active.set(userId, left);
    }
  };
}

/** Uploads of this user in progress in this process (for tests and diagnostics). */
export function uploadsInProgress(userId: number): number {
  return active.get(userId) ?? 0;
}
