// Traces waiting to be written, held outside the JavaScript heap: each entry's request id and JSON
// text as UTF-8 bytes in one growing Buffer, in arrival order. Kept as strings or objects, every
// waiting trace outlived the young generation's short collections (traces wait up to the flush
// delay) and was promoted into the old generation: when every request is traced, that promotion
// and the old generation's collections cost more than encoding and writing the traces together
// (bench/README.md, tracing). Bytes in a Buffer are never scanned, copied or promoted by the
// collector; the strings of an entry exist only while it is written or read.

export interface TraceEntry {
  readonly id: string;
  readonly json: string;
  /** The id is one Baton issued (TraceRecorder.issuedId): such traces may be paged (trace-pages.ts). */
  readonly issuedId?: boolean;
}

/** Entry header: id length (uint16), JSON length (uint32), little-endian; flags (uint8: 1 = issued id). */
const HEADER = 7;

/** A buffer grown past this by a burst is given back when emptied, not kept for the next entries. */
const KEEP_AT_MOST = 1024 * 1024;

export class TraceBuffer {
  #bytes: Buffer;
  #used = 0;
  #count = 0;
  readonly #initialBytes: number;

  constructor(initialBytes = 64 * 1024) {
    this.#initialBytes = initialBytes;
    this.#bytes = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes held (for tests and metrics). */
  get capacity(): number {
    return this.#bytes.length;
  }

  get count(): number {
    return this.#count;
  }

  /** Bytes the entries take. */
  get size(): number {
    return this.#used;
  }

  push(id: string, json: string, issuedId = false): void {
    const idBytes = Buffer.byteLength(id);
    const jsonBytes = Buffer.byteLength(json);
    if (idBytes > 0xffff) throw new RangeError('request id too long');
    this.#reserve(HEADER + idBytes + jsonBytes);
    const bytes = this.#bytes;
    let at = this.#used;
    at = bytes.writeUInt16LE(idBytes, at);
    at = bytes.writeUInt32LE(jsonBytes, at);
    bytes[at++] = issuedId ? 1 : 0;
    at += bytes.write(id, at, 'utf8');
    at += bytes.write(json, at, 'utf8');
    this.#used = at;
    this.#count += 1;
  }

  /** The entries, in arrival order (decoded as they are reached). */
  *entries(): Generator<TraceEntry> {
    const bytes = this.#bytes;
    for (let at = 0; at < this.#used;) {
      const idBytes = bytes.readUInt16LE(at);
      const jsonBytes = bytes.readUInt32LE(at + 2);
      const idStart = at + HEADER;
      const jsonStart = idStart + idBytes;
      at = jsonStart + jsonBytes;
      yield { id: bytes.toString('utf8', idStart, jsonStart), json: bytes.toString('utf8', jsonStart, at), issuedId: bytes[idStart - 1] === 1 };
    }
  }

  /** The JSON text of the first entry under `id`, if any (a scan: for reads, never per request). */
  find(id: string): string | undefined {
    const bytes = this.#bytes;
    const wanted = Buffer.from(id, 'utf8');
    for (let at = 0; at < this.#used;) {
      const idBytes = bytes.readUInt16LE(at);
      const jsonBytes = bytes.readUInt32LE(at + 2);
      const idStart = at + HEADER;
      const jsonStart = idStart + idBytes;
      if (idBytes === wanted.length && bytes.compare(wanted, 0, idBytes, idStart, jsonStart) === 0) return bytes.toString('utf8', jsonStart, jsonStart + jsonBytes);
      at = jsonStart + jsonBytes;
    }
    return undefined;
  }

  /** Empties the buffer, keeping its memory for the next entries unless a burst grew it past KEEP_AT_MOST. */
  clear(): void {
    this.#used = 0;
    this.#count = 0;
    if (this.#bytes.length > Math.max(KEEP_AT_MOST, this.#initialBytes)) this.#bytes = Buffer.allocUnsafe(this.#initialBytes);
  }

  #reserve(more: number): void {
    if (this.#used + more <= this.#bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#used + more));
    this.#bytes.copy(grown, 0, 0, this.#used);
    this.#bytes = grown;
  }
}
