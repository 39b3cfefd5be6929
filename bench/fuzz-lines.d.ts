import type { Arbitrary } from 'fast-check';

/** Real command lines of every module, the seeds the mutations start from. */
export declare const SEEDS: string[];
/** A command (one of `names`, or random) with random parameters and maybe tags. */
export declare const commandLine: (names: string[]) => Arbitrary<Buffer>;
/** A seed with bytes replaced, inserted, deleted or the line cut short. */
export declare const mutatedSeed: Arbitrary<Buffer>;
/** Random bytes, invalid UTF-8, NULs, huge tags, empty and 100-parameter lines. */
export declare const hostileLine: Arbitrary<Buffer>;
/** Lines with CR and other control characters in every field that reaches other clients. */
export declare const controlLine: Arbitrary<Buffer>;
/** Any of the above, weighted towards lines that reach handlers. */
export declare const fuzzLine: (names: string[]) => Arbitrary<Buffer>;
