// The hooks runtime in one import for Baton's flows: load modules, build the api, run a hook.
// Hook authors import their types from ./types.ts instead.
export * from './types.ts';
export { type LoadedHooks, HookLoadError, checkHooks, hasHook, loadHooks } from './loader.ts';
export { type HookApiOptions, type HookLogger, HOOK_CACHE_KIND, HookSession, createHookApi } from './api.ts';
export { type HookEvent, type HookFailureKind, type HookInput, type HookOutputs, type RunHookOptions, HookError, hookRequestId, runHook } from './runner.ts';
export { type AuthorizationDecision, type BackchannelOutcome, RESERVED_CLAIMS, RESERVED_ID_TOKEN_CLAIMS } from './shape.ts';
