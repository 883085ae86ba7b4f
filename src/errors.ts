// Every error the API answers with, declared once (fastify's errors.js): a code,
// the HTTP status, the body's key and the message — the spec's words where the
// spec gives them. Handlers throw these; the error plugin renders them.

export type FaultKey = 'badRequest' | 'unauthorized' | 'forbidden' | 'itemNotFound' | 'badMethod' | 'serviceUnavailable' | 'cloudServersFault';

export class ApiError extends Error {
  readonly status: number;
  readonly key: FaultKey;
  readonly code: string;
  constructor(code: string, status: number, key: FaultKey, message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.key = key;
  }

  /** The body: {"badRequest": {"message": "...", "code": 400}} */
  body(): Record<string, { message: string; code: number }> {
    return { [this.key]: { message: this.message, code: this.status } };
  }
}

const bad = (code: string, message: string): ApiError => new ApiError(`VOLBACKD_ERR_${code}`, 400, 'badRequest', message);

export const errors = {
  // 400, with the spec's messages
  // The spec's exact words for every body that is not a well-formed request
  // (not JSON, not an object, no top-level key, too large); the log says which.
  badBody: () => bad('BAD_BODY', 'Incorrect request body format.'),
  invalidInput: (detail: string) => bad('INVALID_INPUT', `Invalid input received: ${detail}`),
  volumeNotAvailableForBackup: () => bad('VOLUME_NOT_AVAILABLE', 'Invalid volume: Volume to be backed up must be available'),
  volumeNotAvailableForRestore: () => bad('VOLUME_NOT_AVAILABLE', 'Invalid volume: Volume to be restored to must be available'),
  volumeTooSmall: () => bad('VOLUME_TOO_SMALL', 'Invalid volume: Volume to be restored to is smaller than the backup to be restored'),
  quotaExceeded: (sizeGb: number) => bad('QUOTA_EXCEEDED', `Volume quota exceeded. You cannot create a volume of size ${sizeGb}G`),
  backupNotAvailable: () => bad('BACKUP_NOT_AVAILABLE', 'Invalid backup: Backup status must be available'),
  backupNotDeletable: () => bad('BACKUP_NOT_DELETABLE', 'Invalid backup: Backup status must be available or error'),
  volumeNotDeletable: () =>
    bad('VOLUME_NOT_DELETABLE', 'Invalid volume: Volume status must be available, error or error_restoring, and the volume must not be backing up or restoring'),
  volumeSizeTooLarge: (max: number) => bad('VOLUME_TOO_LARGE', `Invalid input received: size must be at most ${max} GB`),

  // 401 / 403
  unauthorized: () =>
    new ApiError('VOLBACKD_ERR_UNAUTHORIZED', 401, 'unauthorized', 'This server could not verify that you are authorized to access the document you requested.'),
  forbidden: () => new ApiError('VOLBACKD_ERR_FORBIDDEN', 403, 'forbidden', 'Policy does not allow this token to act on this tenant.'),
  adminOnly: () => new ApiError('VOLBACKD_ERR_FORBIDDEN', 403, 'forbidden', 'Policy does not allow this operation: an admin token is required.'),

  // 404, with the spec's messages
  backupNotFound: (id: string) => new ApiError('VOLBACKD_ERR_BACKUP_NOT_FOUND', 404, 'itemNotFound', `Backup ${id} could not be found.`),
  volumeNotFound: (id: string) => new ApiError('VOLBACKD_ERR_VOLUME_NOT_FOUND', 404, 'itemNotFound', `Volume ${id} could not be found.`),
  routeNotFound: () => new ApiError('VOLBACKD_ERR_NOT_FOUND', 404, 'itemNotFound', 'The resource could not be found.'),

  // 405
  methodNotAllowed: (method: string) =>
    new ApiError('VOLBACKD_ERR_METHOD', 405, 'badMethod', `The method ${method} is not allowed for this resource.`),

  // 503: a service we depend on (Swift, checking a token) cannot be reached: not our fault, try again
  unavailable: () =>
    new ApiError('VOLBACKD_ERR_UNAVAILABLE', 503, 'serviceUnavailable', 'The object store cannot be reached to check the token, please try again later.'),

  // 500: the spec's text; the cause goes to the log, never to the client
  internal: (cause?: unknown) =>
    new ApiError('VOLBACKD_ERR_INTERNAL', 500, 'cloudServersFault', 'Server Error, please try again later.', { cause }),
};
