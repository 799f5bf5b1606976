// A problem the operator fixes outside the code (the configuration, the environment, another process):
// the CLI prints its message without a stack trace and exits 2, like a configuration error.

export class StartupError extends Error {
  override readonly name = 'StartupError';
}
