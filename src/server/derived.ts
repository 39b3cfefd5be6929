// Values computed from the config alone and read on hot paths (every connection, every
// registration): built once per config object, rebuilt when REHASH replaces the config.
import type { Config } from '../config/schema.js';

export function derivedFrom<T>(config: () => Config, build: (config: Config) => T): () => T {
  let built: { config: Config; value: T } | undefined;
  return () => {
    const current = config();
    if (built?.config !== current) built = { config: current, value: build(current) };
    return built.value;
  };
}
