// Targets that cannot take keepalive get a clear, coded error; never a
// crash, never silence.
import { spawnSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getKeepalive, setKeepalive } from '../src/index.js';
import { tcpPair } from './helpers.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

const settings = { idle: 60, interval: 10, count: 3 };
const code = (c: string) => expect.objectContaining({ code: c });

describe('destroyed sockets', () => {
  it('setKeepalive and getKeepalive on a destroyed socket: ERR_SOCKET_CLOSED', async () => {
    const pair = await tcpPair();
    pair.client.destroy();
    expect(() => setKeepalive(pair.client, settings)).toThrow(code('ERR_SOCKET_CLOSED'));
    expect(() => getKeepalive(pair.client)).toThrow(code('ERR_SOCKET_CLOSED'));
    // Each message says what the call was for.
    expect(() => setKeepalive(pair.client, settings)).toThrow('no connection to set keepalive on');
    expect(() => getKeepalive(pair.client)).toThrow('no connection to read keepalive from');
    await pair.close();
  });
});

describe('Unix domain sockets and pipes', () => {
  let dir: string;
  let server: net.Server;
  let sockPath: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-'));
    sockPath = path.join(dir, 's.sock');
    server = net.createServer((s) => s.on('error', () => {}));
    server.listen(sockPath);
    await once(server, 'listening');
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a connected Unix client and its accepted socket: ERR_SOCKET_NOT_TCP', async () => {
    const acceptedP = once(server, 'connection');
    const client = net.connect(sockPath);
    await once(client, 'connect');
    const [accepted] = (await acceptedP) as [net.Socket];
    for (const s of [client, accepted]) {
      expect(() => setKeepalive(s, settings)).toThrow(code('ERR_SOCKET_NOT_TCP'));
      expect(() => getKeepalive(s)).toThrow(code('ERR_SOCKET_NOT_TCP'));
    }
    client.destroy();
  });

  // Bun: a connecting Unix client's handle is not Node's Pipe; it is refused at connect instead.
  it.skipIf(underBun)('a Unix client still connecting is refused at once, not at connect', () => {
    const client = net.connect(sockPath);
    expect(() => setKeepalive(client, settings)).toThrow(code('ERR_SOCKET_NOT_TCP'));
    client.destroy();
  });

  it('a listening Unix server: ERR_SOCKET_NOT_TCP', () => {
    expect(() => setKeepalive(server, settings)).toThrow(code('ERR_SOCKET_NOT_TCP'));
    expect(() => getKeepalive(server)).toThrow(code('ERR_SOCKET_NOT_TCP'));
  });

  it('a Unix server set before listen() is refused with a warning as it listens, and listens on undisturbed', async () => {
    const other = net.createServer((s) => s.end('hello'));
    const errors: Error[] = [];
    other.on('error', (e) => errors.push(e));
    setKeepalive(other, settings);
    const warningP = once(process, 'warning');
    const listeningP = once(other, 'listening');
    const sock = path.join(dir, 'late.sock');
    other.listen(sock);
    const [warning] = (await warningP) as [Error & { code?: string }];
    expect(warning.code).toBe('ERR_SOCKET_NOT_TCP');
    expect(warning.message).toContain('listen()');
    await listeningP;
    // The server's life goes on: it answers, and reports no error.
    const client = net.connect(sock);
    const [data] = (await once(client, 'data')) as [Buffer];
    expect(data.toString()).toBe('hello');
    expect(errors).toEqual([]);
    expect(() => getKeepalive(other)).toThrow(code('ERR_SOCKET_NOT_TCP'));
    client.destroy();
    other.close();
  });

  // Bun: process.stdin and a child's stdio are not net.Sockets, so they are refused as ERR_INVALID_ARG_TYPE.
  it.skipIf(underBun)('process.stdin as a pipe or a terminal: ERR_SOCKET_NOT_TCP, not a raw system error', async () => {
    const script = path.join(dir, 'stdin.cjs');
    writeFileSync(
      script,
      `const { setKeepalive } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
try { setKeepalive(process.stdin, { idle: 5 }); console.log('no error'); }
catch (e) { console.log([e.code, e.constructor.name, process.stdin.isTTY === true].join(' ')); }
process.exit(0);
`,
    );
    const piped = spawnSync(process.execPath, [script], { input: 'x', encoding: 'utf8' });
    expect(piped.stdout.trim()).toBe('ERR_SOCKET_NOT_TCP Error false');
    // A terminal, through script(1): tty.ReadStream is a net.Socket too.
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${script}`, '/dev/null'], { encoding: 'utf8' });
    expect(tty.stdout.trim()).toBe('ERR_SOCKET_NOT_TCP Error true');
  });

  it.skipIf(underBun)("an IPC pipe (a child's stdout): ERR_SOCKET_NOT_TCP", async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      expect(child.stdout).toBeInstanceOf(net.Socket);
      expect(() => setKeepalive(child.stdout as net.Socket, settings)).toThrow(code('ERR_SOCKET_NOT_TCP'));
    } finally {
      child.kill();
      await once(child, 'exit');
    }
  });
});

describe('streams without a descriptor', () => {
  it('TLS over a JavaScript stream: ERR_SOCKET_NO_FD', () => {
    const duplex = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
    const socket = new tls.TLSSocket(duplex);
    expect(() => setKeepalive(socket, settings)).toThrow(code('ERR_SOCKET_NO_FD'));
    expect(() => getKeepalive(socket)).toThrow(code('ERR_SOCKET_NO_FD'));
    socket.destroy();
  });
});

describe('a descriptor closed behind Node', () => {
  it('throws EBADF from the system call, with errno, syscall and option', () => {
    const script = path.join(__dirname, 'fixtures', 'closed-fd.cjs');
    const result = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as Record<string, Record<string, unknown>>;
    // The interval is set before the idle (a new idle starts probing at once),
    // so the first call to fail is TCP_KEEPINTVL.
    expect(out.set).toMatchObject({ name: 'Error', code: 'EBADF', errno: -9, syscall: 'setsockopt', option: 'TCP_KEEPINTVL' });
    expect(out.get).toMatchObject({ code: 'EBADF', errno: -9, syscall: 'getsockopt', option: 'SO_KEEPALIVE' });
    expect(out.set!.message).toBe('EBADF: bad file descriptor, setsockopt TCP_KEEPINTVL');
  });
});
