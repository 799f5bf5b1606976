#!/usr/bin/env node
// Runs Baton's TypeScript sources directly (tsx), so configuration hooks written in TypeScript load
// the same way, without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
