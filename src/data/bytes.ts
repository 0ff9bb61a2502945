// Bytes → text, the part of import where files go wrong before any format is involved: byte order marks,
// UTF-16 files, CRLF line ends, invalid UTF-8 and rows too large to hold. Everything here works on
// Uint8Array chunks so a 200 MB JSONL file streams through without being decoded as one string.
// Contract: lines are split on LF at the byte level (safe in UTF-8: 0x0A never occurs inside a multi-byte
// sequence); a trailing CR is dropped; line numbers are 1-based; a line over maxLineBytes is reported and
// skipped without being buffered whole.

export interface ByteSource {
  name: string;
  size: number;
  chunks(): AsyncIterable<Uint8Array>;
  /** Bytes [start, end) without reading the rest (Parquet reads its footer and one row group at a time). */
  slice(start: number, end: number): Promise<ArrayBuffer>;
}

/** A ByteSource over bytes already in memory (tests, Node), cut in chunks to exercise the streaming path. */
export function memorySource(name: string, bytes: Uint8Array | string, chunkSize = 64 * 1024): ByteSource {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return {
    name, size: data.byteLength,
    async *chunks() {
      for (let i = 0; i < data.byteLength; i += chunkSize) yield data.subarray(i, Math.min(i + chunkSize, data.byteLength));
    },
    async slice(start, end) { return data.slice(start, end).buffer; },
  };
}

/** A ByteSource over a browser File/Blob, read as a stream. */
export function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name, size: blob.size,
    async *chunks() {
      const reader = blob.stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    },
    slice: (start, end) => blob.slice(start, end).arrayBuffer(),
  };
}

export async function readAll(src: ByteSource, onBytes?: (done: number) => void): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of src.chunks()) {
    parts.push(c);
    n += c.byteLength;
    onBytes?.(n);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}

type Encoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be';

const hasUtf8Bom = (b: Uint8Array): boolean => b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;

/** `bytes` without a leading UTF-8 byte-order mark. */
export function withoutBom(bytes: Uint8Array): Uint8Array {
  return hasUtf8Bom(bytes) ? bytes.subarray(3) : bytes;
}

/** The bytes held back from earlier chunks (`parts`, `partsBytes` in all) followed by `tail`, as one array. */
export function joinBytes(parts: readonly Uint8Array[], partsBytes: number, tail: Uint8Array): Uint8Array {
  if (parts.length === 0) return tail;
  const bytes = new Uint8Array(partsBytes + tail.byteLength);
  let o = 0;
  for (const p of parts) { bytes.set(p, o); o += p.byteLength; }
  bytes.set(tail, o);
  return bytes;
}

export function sniffEncoding(head: Uint8Array): Encoding {
  if (hasUtf8Bom(head)) return 'utf-8-bom';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

/** Decodes UTF-8; on invalid bytes returns the text with U+FFFD in their place and valid=false. */
export function decodeUtf8(bytes: Uint8Array): { text: string; valid: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), valid: true };
  } catch {
    return { text: lenientUtf8.decode(bytes), valid: false };
  }
}

/** Converts a whole UTF-16 file (with its BOM) to UTF-8 bytes so the line-based readers can take it. */
export function utf16ToUtf8(bytes: Uint8Array, enc: 'utf-16le' | 'utf-16be'): Uint8Array {
  return new TextEncoder().encode(new TextDecoder(enc).decode(bytes.subarray(2)));
}

interface Line {
  line: number;
  bytes: Uint8Array;
}

interface OversizedLine {
  line: number;
  /** Bytes seen before giving up on the line (at least maxLineBytes + 1). */
  bytesSeen: number;
  head: Uint8Array;
}

/**
 * Splits a byte stream into lines. Calls onLine for each complete line (CR stripped unless keepCr, BOM
 * dropped from line 1) and onOversized for each line longer than maxLineBytes, which is skipped up to its LF.
 * keepCr: CSV keeps the CR, since a CRLF inside a quoted field is part of the value.
 */
export async function forEachLine(
  chunks: AsyncIterable<Uint8Array>,
  maxLineBytes: number,
  onLine: (l: Line) => void,
  onOversized: (o: OversizedLine) => void,
  onBytes?: (done: number) => void,
  keepCr = false,
): Promise<number> {
  let carry: Uint8Array[] = [];
  let carryLen = 0;
  let lineNo = 1;
  let skipping: OversizedLine | null = null;
  let first = true;
  let consumed = 0;

  const emit = (tail: Uint8Array) => {
    let bytes = joinBytes(carry, carryLen, tail);
    carry = []; carryLen = 0;
    if (first) { first = false; bytes = withoutBom(bytes); }
    if (!keepCr && bytes.byteLength > 0 && bytes[bytes.byteLength - 1] === 0x0d) bytes = bytes.subarray(0, bytes.byteLength - 1);
    onLine({ line: lineNo, bytes });
  };

  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.byteLength : nl;
      const piece = chunk.subarray(start, end);
      if (skipping) {
        skipping.bytesSeen += piece.byteLength;
      } else if (carryLen + piece.byteLength > maxLineBytes) {
        const head = carry.length ? carry[0].slice(0, 256) : piece.slice(0, 256);
        skipping = { line: lineNo, bytesSeen: carryLen + piece.byteLength, head };
        carry = []; carryLen = 0;
      } else if (nl < 0) {
        // Keep a copy: the stream may reuse its chunk buffers.
        if (piece.byteLength) { carry.push(piece.slice()); carryLen += piece.byteLength; }
      }
      if (nl < 0) break;
      if (skipping) { onOversized(skipping); skipping = null; first = false; }
      else emit(piece);
      lineNo++;
      start = nl + 1;
    }
    consumed += chunk.byteLength;
    onBytes?.(consumed);
  }
  if (skipping) onOversized(skipping);
  else if (carryLen > 0) emit(new Uint8Array(0));
  return lineNo;
}
