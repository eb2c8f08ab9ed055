#!/usr/bin/env -S node --no-concurrent-recompilation
// Without background optimizing compilation: in Node.js 20 a compile job that needs a garbage
// collection while the process exits waits for a main thread that waits for it, and the
// process never ends. Run kv through this file (or with the flag) so that it always ends.
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
