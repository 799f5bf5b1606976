// An error a route answers as an RFC 6749 section 5.2 style JSON body: the status, the `error` code,
// a description, and any headers (WWW-Authenticate, Retry-After). Passthrough and the BFF each
// subclass it for their own codes; each has one function that writes it.
export class JsonError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
  }
}
