/**
 * One error type for the whole product. Routes never build HTTP errors by hand: they throw
 * an AppError and the error handler maps its code to a status and a GOV.UK error page.
 */
export type ErrorCode = 'BAD_REQUEST' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT' | 'INVALID' | 'TOO_MANY' | 'UNAVAILABLE';

export const STATUS_OF: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID: 422,
  TOO_MANY: 429,
  UNAVAILABLE: 503,
};

export type FieldError = { field: string; message: string; row?: number };

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly fieldErrors: FieldError[];

  constructor(code: ErrorCode, message: string, fieldErrors: FieldError[] = []) {
    super(message);
    this.code = code;
    this.fieldErrors = fieldErrors;
  }
}

export const notFound = (what = 'Page') => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = () => new AppError('FORBIDDEN', 'You do not have permission to do that');
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const invalid = (message: string, fieldErrors: FieldError[] = []) => new AppError('INVALID', message, fieldErrors);
