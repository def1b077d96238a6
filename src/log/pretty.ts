/**
 * LOG_FORMAT=pretty: the original plan's readable line, one per event —
 * `[2025-10-22 10:30:46] [INFO] [Controller] run started videoId=123 job=vcs-123-1` — with an
 * error's stack on indented lines below it (the plan's error log example). pino-pretty does the
 * parsing and the colours (on a terminal only); the line's shape is ours, built in `messageFormat`,
 * because pino-pretty's own layout puts a colon after the level and the fields as JSON.
 */
import { prettyFactory } from 'pino-pretty';

/** pino's numeric levels, as the plan writes them. */
const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Fields that are the line's frame (time, level, component, message) or pino's bookkeeping, not "key=value" details. */
const FRAME = new Set(['level', 'time', 'pid', 'hostname', 'name', 'part', 'msg', 'channel']);

/** An error object (pino's `err` serialiser) is shown as its stack below the line; an error message given as text is a field. */
const isErrorObject = (k: string, v: unknown) => k === 'err' && typeof v === 'object' && v !== null;

const pad = (n: number) => String(n).padStart(2, '0');

/** Local time (TZ), to the second, as the plan shows it. */
export function plainTime(time: unknown): string {
  const d = new Date(typeof time === 'string' || typeof time === 'number' ? time : Date.now());
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `runner` → `Runner`: the part of the service (or the program, `transcoder`) that logged the line. */
const component = (log: Record<string, unknown>) => {
  const name = String(log.part ?? (log.name === 'vcs' ? 'service' : log.name) ?? 'service');
  return name.charAt(0).toUpperCase() + name.slice(1);
};

const fieldText = (value: unknown) => (typeof value === 'string' ? (/^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)) : JSON.stringify(value));

/** The stack of a serialised error (pino's `err`), else its message; indented under the line. */
function errorText(err: unknown): string {
  if (!isErrorObject('err', err)) return '';
  const e = err as { message?: unknown; stack?: unknown };
  const text = typeof e.stack === 'string' ? e.stack : `Error: ${String(e.message)}`;
  return `\n${text.split('\n').map((l) => `  ${l.trimStart().startsWith('at ') ? '  ' : ''}${l.trim()}`).join('\n')}`;
}

/** A formatter from a parsed pino line to its readable text (ending in a newline); `colour` on terminals only. */
export function prettyLines(colour: boolean): (log: Record<string, unknown>) => string {
  const format = prettyFactory({
    colorize: colour,
    // The whole line comes from messageFormat; pino-pretty adds nothing of its own.
    ignore: [...FRAME, 'err'].join(','),
    hideObject: true,
    customColors: 'message:reset',
    messageFormat: (log, messageKey, _label, { colors }) => {
      const level = Number(log.level);
      const name = LEVEL_NAMES[level] ?? String(log.level);
      const paint = level >= 50 ? colors.red : level >= 40 ? colors.yellow : level >= 30 ? colors.green : colors.gray;
      const fields = Object.entries(log)
        .filter(([k, v]) => !FRAME.has(k) && !isErrorObject(k, v))
        .map(([k, v]) => `${k}=${fieldText(v)}`);
      const message = [String(log[messageKey] ?? ''), ...fields].filter(Boolean).join(' ');
      return `${colors.gray(`[${plainTime(log.time)}]`)} ${paint(`[${name}]`)} ${colors.bold(`[${component(log)}]`)} ${message}${errorText(log.err)}`;
    },
  });
  return (log) => format(log);
}
