import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

/**
 * A catch-all SMTP server for the demo and the tests: it accepts every message sent to it on
 * the loopback interface, keeps it in memory and, given a folder, writes it there as a .eml
 * file any mail program opens. It delivers nothing onwards. Not for production.
 */

export type ReceivedEmail = {
  /** The SMTP envelope: who the client said the message is from and to. */
  envelopeFrom: string | null;
  envelopeTo: string[];
  /** Header names in lower case; encoded words (=?UTF-8?…?=) decoded. */
  headers: Record<string, string>;
  subject: string;
  text: string | null;
  html: string | null;
  raw: string;
  receivedAt: Date;
};

export type MailSink = {
  port: number;
  /** The URL to give SMTP_URL, e.g. smtp://127.0.0.1:1025. */
  url: string;
  messages(): ReceivedEmail[];
  clear(): void;
  close(): Promise<void>;
};

const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

export type MailSinkOptions = {
  port?: number;
  host?: string;
  folder?: string;
  /** Answers each message this much later, as a slow mail server does (for tests of the outbox). */
  answerDelayMs?: number;
};

export async function startMailSink(options: MailSinkOptions = {}): Promise<MailSink> {
  const host = options.host ?? '127.0.0.1';
  const received: ReceivedEmail[] = [];
  if (options.folder) await mkdir(options.folder, { recursive: true });

  const server = new SMTPServer({
    // A local sink: no sign-in, and no STARTTLS with smtp-server's published test certificate.
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => setTimeout(finish, options.answerDelayMs ?? 0));
      const finish = () => {
        if (stream.sizeExceeded) return callback(Object.assign(new Error('Message too big for the mail sink'), { responseCode: 552 }));
        const bytes = Buffer.concat(chunks);
        const message = {
          envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
          envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
          ...parseMessage(bytes),
          raw: bytes.toString('utf8'),
          receivedAt: new Date(),
        };
        received.push(message);
        if (!options.folder) return callback();
        writeFile(path.join(options.folder, emlName(message.receivedAt, received.length)), bytes).then(() => callback(), callback);
      };
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://${host}:${port}`,
    messages: () => [...received],
    clear: () => {
      received.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function emlName(receivedAt: Date, sequence: number): string {
  return `${receivedAt.toISOString().replace(/[:.]/g, '-')}-${String(sequence).padStart(4, '0')}.eml`;
}

/* Just enough MIME to read what Assure sends: headers, and the text and HTML parts. */

type MimePart = { headers: Record<string, string>; body: Buffer };

function parseMessage(bytes: Buffer): Pick<ReceivedEmail, 'headers' | 'subject' | 'text' | 'html'> {
  // The last line break ends the DATA command, not the body.
  const message = splitPart(bytes.subarray(0, bytes.length - (bytes.subarray(-2).toString() === '\r\n' ? 2 : 0)));
  const leaves = leafParts(message);
  const bodyOf = (type: string) => {
    const part = leaves.find((leaf) => mediaType(leaf.headers) === type);
    return part ? decodeBody(part) : null;
  };
  const headers = Object.fromEntries(Object.entries(message.headers).map(([name, value]) => [name, decodeWords(value)]));
  return { headers, subject: headers.subject ?? '', text: bodyOf('text/plain'), html: bodyOf('text/html') };
}

function splitPart(bytes: Buffer): MimePart {
  // Latin-1 maps each byte to one character, so offsets found in the text are byte offsets.
  const text = bytes.toString('latin1');
  const end = /\r?\n\r?\n/.exec(text);
  const headerBlock = end ? text.slice(0, end.index) : text;
  const body = end ? bytes.subarray(end.index + end[0].length) : Buffer.alloc(0);
  const headers: Record<string, string> = {};
  for (const line of headerBlock.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] ??= Buffer.from(line.slice(colon + 1).trim(), 'latin1').toString('utf8');
  }
  return { headers, body };
}

function leafParts(part: MimePart): MimePart[] {
  const boundary = /boundary="?([^";]+)"?/i.exec(part.headers['content-type'] ?? '')?.[1];
  if (!mediaType(part.headers).startsWith('multipart/') || !boundary) return [part];
  const sections = part.body.toString('latin1').split(new RegExp(`\\r?\\n?--${escapeRegExp(boundary)}(?:--)?[ \\t]*(?:\\r?\\n|$)`));
  return sections
    .slice(1, -1)
    .filter((section) => section.trim() !== '')
    .flatMap((section) => leafParts(splitPart(Buffer.from(section, 'latin1'))));
}

function mediaType(headers: Record<string, string>): string {
  return (headers['content-type'] ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
}

function decodeBody(part: MimePart): string {
  const encoding = (part.headers['content-transfer-encoding'] ?? '7bit').trim().toLowerCase();
  const charset = /charset="?([^";]+)"?/i.exec(part.headers['content-type'] ?? '')?.[1] ?? 'utf-8';
  const raw = part.body.toString('latin1');
  if (encoding === 'base64') return decodeText(Buffer.from(raw, 'base64'), charset);
  if (encoding === 'quoted-printable') return decodeText(quotedPrintable(raw.replace(/=\r?\n/g, '')), charset);
  return decodeText(part.body, charset);
}

function quotedPrintable(text: string): Buffer {
  return Buffer.from(text.replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
}

/** RFC 2047 encoded words, e.g. =?UTF-8?Q?Caf=C3=A9?= or =?UTF-8?B?Q2Fmw6k=?= */
function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, charset: string, kind: string, data: string) =>
      decodeText(kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : quotedPrintable(data.replace(/_/g, ' ')), charset),
    );
}

function decodeText(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset.trim().toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
