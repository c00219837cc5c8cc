// Output helpers shared by the subcommands: durations people can read,
// aligned tables, and colour that appears only where a person is looking.

/** "2 h 11 min 15 s"; whole seconds, the unit of every keepalive value. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const parts: string[] = [];
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (r || parts.length === 0) parts.push(`${r} s`);
  return parts.join(' ');
}

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
}

const plain: Style = {
  bold: (t) => t,
  dim: (t) => t,
  green: (t) => t,
  yellow: (t) => t,
  red: (t) => t,
};

const ansi = (open: number, close: number) => (t: string) => `\x1b[${open}m${t}\x1b[${close}m`;

const coloured: Style = {
  bold: ansi(1, 22),
  dim: ansi(2, 22),
  green: ansi(32, 39),
  yellow: ansi(33, 39),
  red: ansi(31, 39),
};

/**
 * Colour only on a terminal, and never when NO_COLOR is set to anything
 * non-empty (https://no-color.org) or the terminal says it cannot.
 */
export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Style {
  if (!stream.isTTY) return plain;
  if (env.NO_COLOR) return plain;
  if (env.TERM === 'dumb') return plain;
  return coloured;
}

// Escape sequences take no room on screen, so widths ignore them.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-9;]*m/g;

function width(text: string): number {
  return text.replace(ESCAPES, '').length;
}

export type Align = 'left' | 'right';

/**
 * Lines of a table whose columns line up. A row shorter than the header
 * leaves its last cell free to run past the columns that follow, which is
 * how a reason stands in for values that could not be read.
 */
export function table(header: string[], rows: string[][], align: Align[], style: Style): string[] {
  const widths = header.map((h) => width(h));
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1 || row.length === header.length) widths[i] = Math.max(widths[i] ?? 0, width(cell));
    });
  }
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const last = i === cells.length - 1;
        const pad = Math.max(0, (widths[i] ?? 0) - width(cell));
        if (align[i] === 'right') return ' '.repeat(pad) + cell;
        return last ? cell : cell + ' '.repeat(pad);
      })
      .join('  ')
      .trimEnd();
  return [line(header.map((h) => style.bold(h))), ...rows.map(line)];
}

// C0 and C1 controls, DEL, and the Unicode marks that reorder or hide text
// on screen (bidirectional overrides and isolates, zero-width characters).
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\\]/g;

/**
 * Text from outside this process (a process name any user sets for their
 * own processes, /proc contents) made safe to print on a terminal: control
 * characters and backslashes become visible escapes (\n, \x1b, \u202e, \\),
 * so nothing can move the cursor, clear the screen or add a line.
 */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * A formatter for the lines of a table whose column widths are known before
 * its rows are, so rows can be printed as they come. Same rules as table():
 * a row shorter than the header lets its last cell run on.
 */
export function columns(widths: number[], align: Align[]): (cells: string[]) => string {
  return (cells) => {
    let line = '';
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i]!;
      const last = i === cells.length - 1;
      const pad = Math.max(0, (widths[i] ?? 0) - width(cell));
      if (i > 0) line += '  ';
      if (align[i] === 'right') line += ' '.repeat(pad) + cell;
      else line += last ? cell : cell + ' '.repeat(pad);
    }
    return line.trimEnd();
  };
}

/** The width a cell takes on screen (colour escapes take none). */
export { width as cellWidth };
