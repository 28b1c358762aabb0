/**
 * The benchmark's HTTP/1.1 client for requests with small bodies: keep-alive connections of its
 * own, each request written in one piece and each answer framed by a small parser (RFC 9112 §6:
 * Content-Length, chunked, or until close). On the 2-core reference machine the load generator
 * shares the cores with the server it measures: 2 000 PUTs of 4 KiB by 8 clients cost this
 * process 0.40 ms of CPU each through Node's http client, 0.31 ms through undici's Pool and
 * 0.22 ms through autocannon (whose runs also end on its one-second tick), and 0.09 ms here.
 */
import net from 'node:net';

export interface LeanAnswer {
  status: number;
  text: string;
}

export interface LeanRequest {
  body?: string | Buffer;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Connections to one origin, at most `maxSockets` at once, reused while the server keeps them open. */
export class LeanPool {
  readonly #idle: Connection[] = [];
  readonly #waiting: (() => void)[] = [];
  #open = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxSockets: number,
  ) {}

  async request(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined, signal?: AbortSignal): Promise<LeanAnswer> {
    for (;;) {
      signal?.throwIfAborted();
      const connection = await this.#take();
      const reused = connection.answered > 0;
      try {
        const answer = await connection.exchange(method, path, headers, body, signal);
        if (connection.reusable) this.#idle.push(connection);
        else this.#drop(connection);
        return answer;
      } catch (error) {
        this.#drop(connection);
        // A kept connection the server closed as this request left (its idle timeout): nothing
        // of an answer came, so the request is sent again on a new one, as browsers do.
        if (reused && !connection.answering && !signal?.aborted) continue;
        throw error;
      } finally {
        this.#waiting.shift()?.();
      }
    }
  }

  close(): void {
    for (const connection of this.#idle.splice(0)) connection.destroy();
  }

  async #take(): Promise<Connection> {
    for (;;) {
      const idle = this.#idle.pop();
      if (idle && idle.reusable) return idle;
      if (idle) {
        this.#drop(idle);
        continue;
      }
      if (this.#open < this.maxSockets) {
        this.#open++;
        return new Connection(this.host, this.port, (closed) => {
          // A kept connection the server closed while idle leaves the pool.
          const at = this.#idle.indexOf(closed);
          if (at < 0) return;
          this.#idle.splice(at, 1);
          this.#drop(closed);
        });
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  #drop(connection: Connection): void {
    if (connection.dropped) return;
    connection.dropped = true;
    connection.destroy();
    this.#open--;
  }
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/** One keep-alive connection: one request at a time. */
class Connection {
  readonly #socket: net.Socket;
  /** Bytes read and not yet taken by an answer, in the reads they came in (joined only when a parse needs them). */
  readonly #read = new ReadBuffer();
  #closed = false;
  /** Counted out of its pool. */
  dropped = false;
  /** Answers read in full on this connection. */
  answered = 0;
  /** Whether any byte of the current answer has come. */
  answering = false;
  /** The answer being read: fed with every read, settled by the parser. */
  #reader: { feed(): void; fail(error: Error): void } | undefined;
  reusable = true;

  constructor(host: string, port: number, onIdleClose: (connection: Connection) => void) {
    this.#socket = net.connect({ host, port, noDelay: true });
    this.#socket.on('data', (data: Buffer) => {
      this.answering = true;
      this.#read.push(data);
      this.#reader?.feed();
    });
    this.#socket.on('error', (error) => this.#end(error));
    this.#socket.on('close', () => {
      this.reusable = false;
      this.#end(new Error('the server closed the connection'));
      onIdleClose(this);
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }

  exchange(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined, signal?: AbortSignal): Promise<LeanAnswer> {
    if (this.#closed) return Promise.reject(new Error('the server closed the connection'));
    this.answering = this.#read.size > 0;
    let head = `${method} ${path} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    head += `Content-Length: ${body?.length ?? 0}\r\n\r\n`;
    this.#socket.write(body?.length ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : head);
    return new Promise((resolve, reject) => {
      const abort = () => {
        this.destroy();
        fail(signal!.reason as Error);
      };
      const fail = (error: Error) => {
        this.#reader = undefined;
        this.reusable = false;
        signal?.removeEventListener('abort', abort);
        reject(error);
      };
      const parser = new AnswerParser(method === 'HEAD');
      this.#reader = {
        feed: () => {
          let answer: ParsedAnswer | undefined;
          try {
            answer = parser.parse(this.#read, this.#closed);
          } catch (error) {
            return fail(error as Error);
          }
          if (!answer) return;
          this.#reader = undefined;
          this.#read.consume(answer.consumed);
          this.answered++;
          this.reusable = answer.keepAlive && !this.#closed;
          signal?.removeEventListener('abort', abort);
          resolve({ status: answer.status, text: answer.body.toString('utf8') });
        },
        fail,
      };
      signal?.addEventListener('abort', abort, { once: true });
      if (this.#read.size > 0) this.#reader.feed();
    });
  }

  #end(error: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    // An answer framed by the close ends here; any other is cut short.
    const reader = this.#reader;
    if (!reader) return;
    reader.feed();
    if (this.#reader === reader) reader.fail(error);
  }
}

interface ParsedAnswer {
  status: number;
  body: Buffer;
  keepAlive: boolean;
  /** Bytes of the buffer the answer took. */
  consumed: number;
}

/** Reads kept in order; joined into one buffer only when asked for. */
class ReadBuffer {
  #parts: Buffer[] = [];
  size = 0;

  push(data: Buffer): void {
    this.#parts.push(data);
    this.size += data.length;
  }

  /** Everything read, as one buffer. */
  joined(): Buffer {
    if (this.#parts.length !== 1) this.#parts = [Buffer.concat(this.#parts, this.size)];
    return this.#parts[0] ?? Buffer.alloc(0);
  }

  consume(bytes: number): void {
    const rest = this.joined().subarray(bytes);
    this.#parts = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
  }
}

type Framing = { kind: 'none' } | { kind: 'length'; end: number } | { kind: 'chunked' } | { kind: 'close' };

interface AnswerHead {
  status: number;
  keepAlive: boolean;
  bodyStart: number;
  framing: Framing;
}

/** Frames one answer (RFC 9112 §6.3) from the bytes read so far; undefined until it is complete. */
class AnswerParser {
  #head: AnswerHead | undefined;

  constructor(private readonly bodiless: boolean) {}

  parse(read: ReadBuffer, closed: boolean): ParsedAnswer | undefined {
    const head = (this.#head ??= this.#parseHead(read.joined()));
    if (!head) return undefined;
    const { status, keepAlive, bodyStart, framing } = head;
    switch (framing.kind) {
      case 'none':
        return { status, body: Buffer.alloc(0), keepAlive, consumed: bodyStart };
      case 'length':
        // Joined once, when all of it is there: a large body arrives in many reads.
        return read.size >= framing.end ? { status, body: read.joined().subarray(bodyStart, framing.end), keepAlive, consumed: framing.end } : undefined;
      case 'chunked': {
        const chunked = readChunked(read.joined(), bodyStart);
        return chunked && { status, body: chunked.body, keepAlive, consumed: chunked.end };
      }
      case 'close':
        return closed ? { status, body: read.joined().subarray(bodyStart), keepAlive: false, consumed: read.size } : undefined;
    }
  }

  #parseHead(data: Buffer): AnswerHead | undefined {
    let start = 0;
    for (;;) {
      const end = data.indexOf(CRLF_CRLF, start);
      if (end < 0) return undefined;
      const lines = data.toString('latin1', start, end).split('\r\n');
      const statusLine = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
      if (!statusLine) throw new Error(`not an HTTP answer: ${JSON.stringify(lines[0])}`);
      const status = Number(statusLine[2]);
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const bodyStart = end + 4;
      // An interim answer (100 Continue) is followed by the real one.
      if (status < 200) {
        start = bodyStart;
        continue;
      }
      const connection = (headers.get('connection') ?? '').toLowerCase();
      const keepAlive = statusLine[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
      const length = headers.get('content-length');
      let framing: Framing;
      if (this.bodiless || status === 204 || status === 304) framing = { kind: 'none' };
      else if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) framing = { kind: 'chunked' };
      else if (length !== undefined) {
        if (!/^\d+$/.test(length)) throw new Error(`bad Content-Length: ${length}`);
        framing = { kind: 'length', end: bodyStart + Number(length) };
      } else framing = { kind: 'close' };
      return { status, keepAlive, bodyStart, framing };
    }
  }
}

/** A chunked body from `start` (RFC 9112 §7.1), with its end; undefined while incomplete. */
function readChunked(data: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = data.indexOf(CRLF, at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.toString('latin1', at, lineEnd).split(';')[0]!.trim(), 16);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error('bad chunk size');
    at = lineEnd + 2;
    if (size === 0) {
      // Trailer fields, then an empty line.
      for (;;) {
        const trailerEnd = data.indexOf(CRLF, at);
        if (trailerEnd < 0) return undefined;
        const empty = trailerEnd === at;
        at = trailerEnd + 2;
        if (empty) return { body: Buffer.concat(parts), end: at };
      }
    }
    if (data.length < at + size + 2) return undefined;
    parts.push(data.subarray(at, at + size));
    at += size + 2;
  }
}
