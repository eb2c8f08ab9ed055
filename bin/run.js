#!/usr/bin/env -S node --no-concurrent-recompilation
// Without background optimizing compilation: in Node.js 20 a compile job that needs a garbage
// collection while the process exits waits for a main thread that waits for it, and the
// process never ends. Run kv through this file (or with the flag) so that it always ends.
import {fillsDatabases, holdYoungGeneration} from '../dist/src/cli/young-generation.js'

// Decided before anything else loads (see young-generation.ts).
if (fillsDatabases(process.argv.slice(2))) holdYoungGeneration()
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
