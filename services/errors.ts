/**
 * One place for the domain's error codes. Every code maps to a message key in the en/ru
 * catalogues (`errors.<code>`), so the user always hears what happened and what to do next;
 * the technical detail goes to the log only.
 */
export const ERROR_CODES = [
  'bad-input',
  'not-found',
  'out-of-scope',
  'forbidden',
  'conflict',
  'agent-not-ready',
  'throttled',
  'timeout',
  'server-error',
  'azure-error',
  'script-output-invalid',
  'approval-invalid',
  'not-allowed',
  'rate-limited',
  'interrupted',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** Values for the message template (never secrets). */
  readonly params: Record<string, string | number>;
  readonly statusCode?: number;
  readonly azureCode?: string;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { params?: Record<string, string | number>; statusCode?: number; azureCode?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DomainError';
    this.code = code;
    this.params = opts.params ?? {};
    this.statusCode = opts.statusCode;
    this.azureCode = opts.azureCode;
  }

  /** Key of the user-facing message in the language catalogues. */
  get messageKey(): string {
    return `errors.${this.code}`;
  }
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
