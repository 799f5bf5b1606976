// The JSON text of a page of traces (trace-pages.ts), assembled as bytes: the waiting traces'
// JSON and ids are copied from the trace buffer as they are, and the page is decoded into one
// string once, instead of a string per trace joined into the page and flattened again.

/** Bytes kept for the next page; a page that grew the buffer past this gives it back. */
const INITIAL_BYTES = 16 * 1024;
const KEEP_AT_MOST = 1024 * 1024;

/** A page's bytes, grown as needed and kept for the next page. */
export class PageText {
  #bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  #used = 0;

  /** Starts a page: whatever an earlier one left (a page abandoned half-way) is dropped. */
  begin(): this {
    this.#used = 0;
    return this;
  }

  /** Text of ASCII characters (JSON punctuation, numbers). */
  ascii(text: string): this {
    this.#reserve(text.length);
    for (let i = 0; i < text.length; i++) this.#bytes[this.#used + i] = text.charCodeAt(i);
    this.#used += text.length;
    return this;
  }

  /** Any text, as UTF-8. */
  utf8(text: string): this {
    this.#reserve(Buffer.byteLength(text));
    this.#used += this.#bytes.write(text, this.#used, 'utf8');
    return this;
  }

  /** Bytes already encoded (UTF-8 JSON, or an ASCII id). */
  copy(source: Buffer, start: number, end: number): this {
    this.#reserve(end - start);
    if (end - start <= 64) {
      for (let i = start; i < end; i++) this.#bytes[this.#used++] = source[i]!;
    } else {
      this.#used += source.copy(this.#bytes, this.#used, start, end);
    }
    return this;
  }

  /** A number as JSON writes it (a time or an index: a whole number, written digit by digit). */
  number(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) return this.ascii(Number.isFinite(value) ? String(value) : 'null');
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
    this.#reserve(digits);
    let rest = value;
    for (let i = this.#used + digits - 1; i >= this.#used; i--) {
      this.#bytes[i] = 48 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    this.#used += digits;
    return this;
  }

  /** The page's text; the builder is empty again. */
  take(): string {
    const text = this.#bytes.toString('utf8', 0, this.#used);
    this.#used = 0;
    if (this.#bytes.length > KEEP_AT_MOST) this.#bytes = Buffer.allocUnsafe(INITIAL_BYTES);
    return text;
  }

  #reserve(more: number): void {
    if (this.#used + more <= this.#bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#used + more));
    this.#bytes.copy(grown, 0, 0, this.#used);
    this.#bytes = grown;
  }
}
