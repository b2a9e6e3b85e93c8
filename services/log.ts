import pino, { type Logger, type LoggerOptions } from 'pino';

/** pino JSON logs; anything that could carry a secret is censored before it is written. */
export const REDACT_PATHS = [
  'password', '*.password', 'secret', '*.secret', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', 'req.headers.authorization', 'MicrosoftAppPassword', '*.MicrosoftAppPassword',
  'parameters', '*.parameters', 'script', '*.script',
];

export type { Logger };

export function createLogger(level: LoggerOptions['level'] = 'info', destination?: pino.DestinationStream): Logger {
  const opts: LoggerOptions = {
    level,
    base: { app: 'rdp-doctor' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(opts, destination) : pino(opts);
}

export const silentLogger: Logger = pino({ level: 'silent' });
